from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ai_lib_python import AiClient
from ai_lib_python.testing import ProviderEmulator

KEY = "sk-test-0123456789abcdef"
MODELS = {
    "openai": "openai/gpt-4o",
    "anthropic": "anthropic/claude-sonnet-4-5",
    "gemini": "gemini/gemini-2.5-flash",
    "cohere": "cohere/command-r-plus",
}


@pytest.fixture
async def emu() -> AsyncIterator[ProviderEmulator]:
    async with ProviderEmulator(require_key=KEY) as e:
        yield e


async def make_client(emu: ProviderEmulator, fmt: str, *, model: str | None = None,
                      **kw: object) -> AiClient:
    return await AiClient.create(model or MODELS[fmt], base_url=emu.url_for(fmt), api_key=KEY,
                                 **kw)  # type: ignore[arg-type]
