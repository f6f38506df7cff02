"""Strategies and ModelArray ordering, without the network: 1,000 picks each."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from ai_lib_python.client._assemble import Target
from ai_lib_python.errors import ConfigurationError
from ai_lib_python.routing import LeastLatency, Member, ModelArray, ModelManager
from ai_lib_python.types import ChatRequest, ImageBlock, Message, TextBlock, ToolDefinition

N = 1000


def request(text: str = "hi", **kw: object) -> ChatRequest:
    return ChatRequest(model="x", messages=(Message.user(text),), **kw)  # type: ignore[arg-type]


def manager() -> ModelManager:
    mm = ModelManager()
    mm.register("p/cheap", capabilities=["chat", "streaming"], context_window=8_000,
                input_per_million=0.1, output_per_million=0.4)
    mm.register("p/mid", capabilities=["chat", "streaming", "tools"], context_window=128_000,
                input_per_million=1.0, output_per_million=4.0)
    mm.register("p/vision", capabilities=["chat", "streaming", "tools", "vision"],
                context_window=1_000_000, input_per_million=3.0, output_per_million=15.0)
    return mm


def picks(array: ModelArray, req: ChatRequest | None = None, n: int = N) -> Counter[str]:
    return Counter(array.pick(req).name for _ in range(n))


def test_round_robin_is_even_and_in_order() -> None:
    array = ModelArray(["a/1", "a/2", "a/3"], strategy="round_robin", models=ModelManager())
    assert [array.order() for _ in range(3)] == [[0, 1, 2], [1, 2, 0], [2, 0, 1]]
    counts = picks(array)
    assert max(counts.values()) - min(counts.values()) <= 1


@pytest.mark.parametrize("weights", [(1, 1, 2), (5, 3, 2), (0.7, 0.2, 0.1)])
def test_weighted_within_five_percent(weights: tuple[float, float, float]) -> None:
    members = [Target(f"a/{i}", weight=w) for i, w in enumerate(weights)]
    array = ModelArray(members, strategy="weighted", models=ModelManager(),
                       rand=random.Random(7).random)
    counts = picks(array)
    total = sum(weights)
    for i, w in enumerate(weights):
        share = counts[f"a/{i}"] / N
        assert abs(share - w / total) <= 0.05, (i, share, w / total)
    # The rest of the order is a full permutation (fallbacks for every member).
    assert sorted(array.order()) == [0, 1, 2]


def test_weight_zero_is_last_resort() -> None:
    array = ModelArray([Target("a/0", weight=0), Target("a/1")], strategy="weighted",
                       models=ModelManager(), rand=random.Random(1).random)
    assert all(array.order() == [1, 0] for _ in range(50))


def test_least_latency_follows_the_ewma() -> None:
    array = ModelArray(["a/fast", "a/slow"], strategy="least_latency", models=ModelManager())
    assert array.order() == [0, 1]  # nothing observed: array order
    array.observe("a/fast", ok=True, latency_ms=10)
    assert array.order() == [1, 0]  # an unobserved member is measured first
    array.observe("a/slow", ok=True, latency_ms=40)
    assert picks(array)["a/fast"] == N
    for _ in range(5):
        array.observe("a/fast", ok=True, latency_ms=80)
    assert array.state("a/fast").latency_ms is not None
    assert array.state("a/fast").latency_ms > 40
    assert picks(array)["a/slow"] == N
    # Failures do not move the latency estimate.
    before = array.state("a/slow").latency_ms
    array.observe("a/slow", ok=False, error="E3002")
    assert array.state("a/slow").latency_ms == before
    assert array.state("a/slow").failures == 1


def test_least_latency_explores() -> None:
    array = ModelArray(["a/fast", "a/slow"], strategy=LeastLatency(explore=0.1),
                       models=ModelManager(), rand=random.Random(3).random)
    array.observe(0, ok=True, latency_ms=10)
    array.observe(1, ok=True, latency_ms=50)
    share = picks(array)["a/slow"] / N
    assert 0.05 <= share <= 0.15


def test_cost_picks_the_cheapest_capable_model() -> None:
    array = ModelArray(["p/vision", "p/mid", "p/cheap"], strategy="cost", models=manager())
    assert picks(array, request())["p/cheap"] == N
    assert array.order(request()) == [2, 1, 0]
    tools = request(tools=(ToolDefinition("f"),))
    assert array.order(tools) == [1, 0]  # cheap has no tools: ruled out
    image = ChatRequest(model="x", messages=(Message.user(
        [TextBlock("what is it?"), ImageBlock(url="https://example.com/a.png")]),))
    assert array.order(image) == [0]
    long = request("word " * 60_000)  # ~75k tokens: over the cheap model's 8k window
    assert array.order(long) == [1, 0]
    with pytest.raises(ConfigurationError, match="needs reasoning"):
        array.order(request(reasoning_effort="high"))


def test_every_strategy_respects_context_windows() -> None:
    array = ModelArray(["p/cheap", "p/mid"], strategy="round_robin", models=manager())
    assert sorted(array.order(request())) == [0, 1]
    long = request("word " * 20_000)  # over the cheap model's 8k window
    assert all(array.order(long) == [1] for _ in range(4))
    assert array.order(request(max_tokens=9_000)) == [1]


def test_cost_puts_unknown_prices_after_known_ones() -> None:
    array = ModelArray(["q/unknown", "p/mid", "p/cheap"], strategy="cost", models=manager())
    assert array.order(request()) == [2, 1, 0]


def test_quality_orders_by_score() -> None:
    array = ModelArray([Member(Target("a/1"), quality=0.5), Member(Target("a/2"), quality=0.9),
                        Member(Target("a/3"), quality=0.7)], strategy="quality",
                       models=ModelManager())
    assert array.order() == [1, 2, 0]
    assert picks(array)["a/2"] == N


def test_unhealthy_members_are_skipped_then_last() -> None:
    clock = [100.0]
    array = ModelArray(["a/1", "a/2", "a/3"], strategy="round_robin", models=ModelManager(),
                       clock=lambda: clock[0])
    array.set_health("a/2", False, "HTTP 503")
    counts = picks(array, n=300)
    assert "a/2" not in counts and counts["a/1"] == counts["a/3"] == 150
    assert all(array.order()[-1] == 1 for _ in range(10))
    # An open breaker rules a member out until its cool-down has passed.
    array.set_health("a/2", True)
    array.report_breaker("a/1", "open", retry_in_s=5)
    assert array.order()[-1] == 0
    assert array.snapshot()["a/1"]["breaker"] == "open"
    clock[0] += 6
    assert 0 in array.order()[:2]
    array.report_breaker("a/1", "closed")
    assert array.state("a/1").breaker_until is None


def test_same_model_on_two_endpoints_gets_distinct_names() -> None:
    array = ModelArray([Target("openai/gpt-4o", base_url="http://a/v1"),
                        Target("openai/gpt-4o", base_url="http://b/v1"), "openai/gpt-4o-mini"])
    assert [m.name for m in array.members] == [
        "openai/gpt-4o@http://a/v1", "openai/gpt-4o@http://b/v1", "openai/gpt-4o-mini"]
    assert array.index_of("openai/gpt-4o-mini") == 2
    with pytest.raises(KeyError):
        array.index_of("openai/gpt-4o")  # ambiguous


def test_bad_configuration() -> None:
    with pytest.raises(ConfigurationError):
        ModelArray([])
    with pytest.raises(ConfigurationError, match="unknown routing strategy"):
        ModelArray(["a/1"], strategy="fastest")
    with pytest.raises(ConfigurationError, match="unique"):
        ModelArray([Member(Target("a/1"), name="x"), Member(Target("a/2"), name="x")])
