"""Testing your app with the provider emulator: real HTTP on loopback, no key, no network.

The emulator speaks the OpenAI, Anthropic, Gemini and Cohere wire formats. Script
its answers with ``Reply`` (text, tool calls, usage) and ``Fault`` (HTTP errors,
errors inside a stream, dropped connections, stalls), then inspect what your code
sent in ``emulator.requests``. Run this file with pytest, or directly:

    python examples/testing_with_emulator.py
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator

import pytest

from ai_lib_python import AiClient, ProviderError
from ai_lib_python.testing import Fault, ProviderEmulator, Reply


# -- the code under test -------------------------------------------------------------
async def summarize(client: AiClient, text: str) -> str:
    """The app: a one-line summary, or a fixed message when the provider fails."""
    try:
        resp = await (client.chat().system("Summarize in one line.").user(text)
                      .max_tokens(60).execute())
    except ProviderError as exc:
        return f"(no summary: {exc.code})"
    return resp.content.strip()


# -- the tests -----------------------------------------------------------------------
@pytest.fixture
def emulator() -> Iterator[ProviderEmulator]:
    emu = ProviderEmulator.start_in_thread(require_key="test-key")
    yield emu
    emu.stop()


def run_app(emu: ProviderEmulator, provider_model: str, text: str,
            max_retries: int | None = None) -> str:
    async def go() -> str:
        provider = provider_model.split("/", 1)[0]
        async with await AiClient.create(provider_model, base_url=emu.url_for(provider),
                                         api_key="test-key", max_retries=max_retries) as client:
            return await summarize(client, text)

    return asyncio.run(go())


@pytest.mark.parametrize("model", ["openai/gpt-4o", "anthropic/claude-sonnet-4-5",
                                   "gemini/gemini-2.5-flash"])
def test_summary_in_every_wire_format(emulator: ProviderEmulator, model: str) -> None:
    emulator.enqueue(Reply(text="  A cat sat on a mat.  "))
    assert run_app(emulator, model, "The cat ... (a long story)") == "A cat sat on a mat."
    sent = emulator.last_request
    assert "The cat" in sent.body.decode()  # what the app sent, in the provider's format


def test_max_tokens_is_sent(emulator: ProviderEmulator) -> None:
    run_app(emulator, "openai/gpt-4o", "text")
    assert emulator.last_request.json["max_completion_tokens"] == 60


def test_a_brief_outage_is_retried_by_the_client(emulator: ProviderEmulator) -> None:
    emulator.enqueue(Fault.status(503, retry_after_ms=50), Reply(text="Recovered."))
    assert run_app(emulator, "anthropic/claude-sonnet-4-5", "text") == "Recovered."
    assert emulator.requests[-2].response.status == 503  # the first attempt failed


def test_provider_outage_is_handled(emulator: ProviderEmulator) -> None:
    emulator.enqueue(Fault.status(503))
    outcome = run_app(emulator, "anthropic/claude-sonnet-4-5", "text", max_retries=0)
    assert outcome == "(no summary: E3002)"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
