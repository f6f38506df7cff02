"""Fallback across targets, end to end: execute and stream, what falls back and what
does not, and what the caller sees when every target fails."""

from __future__ import annotations

import pytest

from ai_lib_python.errors import (
    AllTargetsFailedError,
    CircuitOpenError,
    ConnectError,
    ProviderError,
)
from ai_lib_python.resilience import BreakerSettings, ResilienceConfig, RetrySettings
from ai_lib_python.testing import Fault, ProviderEmulator, Reply
from ai_lib_python.types import PartialContentDelta
from tests.resilience._helpers import make_harness

MODES = pytest.mark.parametrize("stream", [False, True], ids=["execute", "stream"])


def count(emu: ProviderEmulator, fmt: str) -> int:
    return sum(1 for r in emu.requests if r.format == fmt)


@MODES
async def test_failing_primary_falls_back_to_healthy_target(emu: ProviderEmulator,
                                                            stream: bool) -> None:
    emu.set_default(Fault.status(503), format="openai")
    h = await make_harness(emu, "openai", fallbacks=["anthropic"])
    try:
        out = await h.call(stream)
    finally:
        await h.client.close()
    assert out.error is None and out.response is not None
    assert out.response.content == "Echo: hello there"
    assert (count(emu, "openai"), count(emu, "anthropic")) == (3, 1)
    assert out.stats.attempts == 4
    assert out.stats.target == "anthropic/claude-sonnet-4-5"
    assert out.stats.provider == "anthropic"
    assert [a["target"] for a in out.stats.extra["failed_attempts"]] == ["openai/gpt-4o"] * 3


async def test_stream_falls_back_on_in_stream_error_before_first_event(
        emu: ProviderEmulator) -> None:
    emu.set_default(Fault.stream_error(0, "overloaded"), format="openai")
    h = await make_harness(emu, "openai", fallbacks=["gemini"],
                           config=ResilienceConfig(retry=RetrySettings(max_retries=0)))
    try:
        out = await h.call(True)
    finally:
        await h.client.close()
    assert out.error is None and out.response is not None
    # the answer assembled from the attempt that produced the events
    assert out.response.content == "Echo: hello there"
    assert (count(emu, "openai"), count(emu, "gemini")) == (1, 1)


async def test_stream_does_not_fall_back_after_first_event(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.disconnect(5), format="openai")
    h = await make_harness(emu, "openai", fallbacks=["anthropic"])
    try:
        out = await h.call(True, "a longer text to stream here")
    finally:
        await h.client.close()
    assert isinstance(out.error, ConnectError)
    assert any(isinstance(e, PartialContentDelta) for e in out.events)
    assert (count(emu, "openai"), count(emu, "anthropic")) == (1, 0)


@MODES
async def test_non_fallbackable_error_does_not_fall_back(emu: ProviderEmulator,
                                                         stream: bool) -> None:
    emu.enqueue(Fault.status(400), format="openai")
    h = await make_harness(emu, "openai", fallbacks=["anthropic"])
    try:
        out = await h.call(stream)
    finally:
        await h.client.close()
    assert isinstance(out.error, ProviderError) and out.error.code == "E1001"
    assert (count(emu, "openai"), count(emu, "anthropic")) == (1, 0)
    assert out.stats.attempts == 1


@MODES
async def test_all_targets_failed_carries_every_attempt(emu: ProviderEmulator,
                                                        stream: bool) -> None:
    emu.set_default(Fault.status(503), format="openai")
    emu.set_default(Fault.status(529), format="anthropic")
    h = await make_harness(emu, "openai", fallbacks=["anthropic"],
                           config=ResilienceConfig(retry=RetrySettings(max_retries=1)))
    try:
        out = await h.call(stream)
    finally:
        await h.client.close()
    err = out.error
    assert isinstance(err, AllTargetsFailedError)
    assert [(t, type(e)) for t, e in err.attempts] == [
        ("openai/gpt-4o", ProviderError), ("anthropic/claude-sonnet-4-5", ProviderError)]
    assert isinstance(err.__cause__, ProviderError) and err.__cause__ is err.last
    assert err.code == "E3002" and err.fallbackable
    assert "openai/gpt-4o" in str(err) and "anthropic/claude-sonnet-4-5" in str(err)
    assert out.stats.attempts == 4 == len(emu.requests)
    if stream:
        assert out.events == []


@MODES
async def test_single_target_raises_the_provider_error_itself(emu: ProviderEmulator,
                                                              stream: bool) -> None:
    emu.set_default(Fault.status(503))
    h = await make_harness(emu, "anthropic")
    try:
        out = await h.call(stream)
    finally:
        await h.client.close()
    assert type(out.error) is ProviderError
    with pytest.raises(ProviderError):
        raise out.error


async def test_second_target_non_fallbackable_error_surfaces_as_is(
        emu: ProviderEmulator) -> None:
    emu.set_default(Fault.status(503), format="openai")
    emu.enqueue(Fault.status(400), format="anthropic")
    h = await make_harness(emu, "openai", fallbacks=["anthropic", "gemini"])
    try:
        out = await h.call(False)
    finally:
        await h.client.close()
    assert isinstance(out.error, ProviderError) and out.error.status == 400
    assert count(emu, "gemini") == 0


@MODES
async def test_open_breaker_fails_fast_to_the_fallback(emu: ProviderEmulator,
                                                       stream: bool) -> None:
    emu.set_default(Fault.status(500), format="openai")
    config = ResilienceConfig(retry=RetrySettings(max_retries=0),
                              circuit_breaker=BreakerSettings(failure_threshold=2))
    h = await make_harness(emu, "openai", fallbacks=["anthropic"], config=config)
    try:
        for _ in range(2):
            assert (await h.call(stream)).error is None
        assert count(emu, "openai") == 2
        out = await h.call(stream)
        assert out.error is None
        assert count(emu, "openai") == 2  # the breaker refused without a request
        refused = out.stats.extra["failed_attempts"][0]
        assert refused == {"target": "openai/gpt-4o", "code": "E3002",
                           "error": "CircuitOpenError"}
    finally:
        await h.client.close()


async def test_open_breaker_single_target_error_says_until_when(emu: ProviderEmulator) -> None:
    emu.set_default(Fault.status(500))
    config = ResilienceConfig(retry=RetrySettings(max_retries=0),
                              circuit_breaker=BreakerSettings(failure_threshold=1,
                                                              recovery_s=30))
    h = await make_harness(emu, "openai", config=config)
    try:
        assert isinstance((await h.call(False)).error, ProviderError)
        out = await h.call(False)
    finally:
        await h.client.close()
    err = out.error
    assert isinstance(err, CircuitOpenError)
    assert err.fallbackable and err.code == "E3002"
    assert err.until.isoformat(timespec="milliseconds") in str(err)
    assert 29.0 < err.retry_after <= 30.0
    assert len(emu.requests) == 1 and out.stats.attempts == 0


async def test_recovered_stream_response_is_from_the_attempt_that_answered(
        emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.stream_error(0, "overloaded"),
                Reply(text="the second answer"), format="anthropic")
    h = await make_harness(emu, "anthropic")
    try:
        out = await h.call(True)
    finally:
        await h.client.close()
    assert out.response is not None and out.response.content == "the second answer"
    assert out.stats.attempts == 2
