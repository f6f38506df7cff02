"""What the end-to-end tests share: the test key, model ids and a client factory."""

from __future__ import annotations

from ai_lib_python import AiClient
from ai_lib_python.testing import ProviderEmulator

KEY = "sk-test-0123456789abcdef"
MODELS = {
    "openai": "openai/gpt-4o",
    "anthropic": "anthropic/claude-sonnet-4-5",
    "gemini": "gemini/gemini-2.5-flash",
    "cohere": "cohere/command-r-plus",
}


async def make_client(emu: ProviderEmulator, fmt: str, *, model: str | None = None,
                      **kw: object) -> AiClient:
    """A client on the bare path (no retry), so a test sees each response as sent.
    Retry, fallback and the other policies are tested in tests/resilience."""
    kw.setdefault("max_retries", 0)
    return await AiClient.create(model or MODELS[fmt], base_url=emu.url_for(fmt), api_key=KEY,
                                 **kw)  # type: ignore[arg-type]
