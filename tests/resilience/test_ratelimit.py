"""RateLimiter: bucket arithmetic, reset parsing, header adaptation (time injected),
and the limiter on the execution path against the emulator."""

from __future__ import annotations

import datetime as dt

import pytest

from ai_lib_python.errors import ProviderError, RateLimitedError, provider_error
from ai_lib_python.resilience import (
    MemoryBackend,
    RateLimiter,
    RateLimitSettings,
    ResilienceConfig,
    RetrySettings,
    parse_reset,
)
from ai_lib_python.testing import Fault, ProviderEmulator, Reply
from tests.resilience._helpers import FakeTime, make_harness

NOW = 1_700_000_000.0


@pytest.mark.parametrize(("value", "seconds"), [
    ("1", 1.0), ("0.5", 0.5), ("60", 60.0), ("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02),
    ("1h2m3.5s", 3723.5), ("2m", 120.0), ("150us", 0.00015), ("-3", 0.0),
    (str(NOW + 12), 12.0),  # a Unix timestamp
])
def test_parse_reset_numbers_and_durations(value: str, seconds: float) -> None:
    assert parse_reset(value, now=NOW) == pytest.approx(seconds)


def test_parse_reset_rfc3339() -> None:
    base = dt.datetime.fromtimestamp(NOW, dt.timezone.utc)
    for text, seconds in [
        ((base + dt.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ"), 30.0),
        ((base + dt.timedelta(seconds=2.25)).isoformat(), 2.25),
        ((base + dt.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S.123456789Z"), 5.123456),
        ((base + dt.timedelta(hours=1)).astimezone(
            dt.timezone(dt.timedelta(hours=2))).isoformat(), 3600.0),
        ((base - dt.timedelta(seconds=5)).isoformat(), 0.0),  # already past
    ]:
        assert parse_reset(text, now=NOW) == pytest.approx(seconds, abs=1e-5), text


@pytest.mark.parametrize("value", [None, "", "soon", "1x", "nan", "inf", "s"])
def test_parse_reset_rejects_garbage(value: str | None) -> None:
    assert parse_reset(value, now=NOW) is None


def limiter(ft: FakeTime, **settings: float) -> RateLimiter:
    return RateLimiter(RateLimitSettings(**settings), MemoryBackend(clock=ft.clock),  # type: ignore[arg-type]
                       clock=ft.clock, sleep=ft.sleep)


async def test_bucket_burst_then_rate(fake_time: FakeTime) -> None:
    lim = limiter(fake_time, requests_per_second=2, burst=3)
    waits = [await lim.acquire("t") for _ in range(5)]
    assert waits == [0.0, 0.0, 0.0, 0.5, 0.5]
    fake_time.advance(10)  # refills to the burst, not beyond
    assert [await lim.acquire("t") for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]
    assert lim.waiting == 0


async def test_wait_beyond_max_wait_raises(fake_time: FakeTime) -> None:
    lim = limiter(fake_time, requests_per_second=0.1, burst=1, max_wait_s=5)
    await lim.acquire("t", target="openai/gpt-4o")
    with pytest.raises(RateLimitedError) as info:
        await lim.acquire("t", target="openai/gpt-4o")
    assert info.value.retry_after == pytest.approx(10.0)
    assert info.value.fallbackable and "openai/gpt-4o" in str(info.value)
    assert fake_time.sleeps == []  # failed fast, did not sleep first


async def test_targets_have_separate_buckets(fake_time: FakeTime) -> None:
    lim = limiter(fake_time, requests_per_second=1, burst=1)
    assert await lim.acquire("a") == 0.0
    assert await lim.acquire("b") == 0.0


async def test_headers_pause_the_target_until_reset(fake_time: FakeTime) -> None:
    lim = limiter(fake_time, max_wait_s=30)
    names = {"requests_remaining": "x-ratelimit-remaining-requests",
             "requests_reset": "x-ratelimit-reset-requests"}
    await lim.observe("t", {"x-ratelimit-remaining-requests": "0",
                            "x-ratelimit-reset-requests": "6s"}, names)
    assert await lim.acquire("t") == 6.0
    await lim.observe("t", {"x-ratelimit-remaining-requests": "0",
                            "x-ratelimit-reset-requests": "6m0s"}, names)
    with pytest.raises(RateLimitedError) as info:
        await lim.acquire("t")
    assert info.value.retry_after == pytest.approx(360.0)


async def test_headers_lower_the_local_balance(fake_time: FakeTime) -> None:
    lim = limiter(fake_time, requests_per_second=1, burst=10)
    names = {"requests_remaining": "rem"}
    await lim.observe("t", {"rem": "1"}, names)
    assert await lim.acquire("t") == 0.0
    assert await lim.acquire("t") == 1.0  # only one was left


async def test_anthropic_rfc3339_token_reset(fake_time: FakeTime) -> None:
    lim = limiter(fake_time)
    names = {"tokens_remaining": "anthropic-ratelimit-tokens-remaining",
             "tokens_reset": "anthropic-ratelimit-tokens-reset"}
    reset = dt.datetime.fromtimestamp(fake_time.now + 4, dt.timezone.utc).isoformat()
    await lim.observe("t", {"anthropic-ratelimit-tokens-remaining": "0",
                            "anthropic-ratelimit-tokens-reset": reset}, names)
    assert await lim.acquire("t") == pytest.approx(4.0)


async def test_retry_after_error_pauses_the_target(fake_time: FakeTime) -> None:
    lim = limiter(fake_time)
    error = provider_error(status=429, body={}, headers={"retry-after": "3"})
    await lim.observe("t", None, {}, error)
    assert await lim.acquire("t") == 3.0


async def test_tokens_per_minute_charges_usage(fake_time: FakeTime) -> None:
    lim = limiter(fake_time, tokens_per_minute=600)  # 10 tokens/s
    assert await lim.acquire("t") == 0.0
    await lim.charge("t", 650)  # 50 over budget
    assert await lim.acquire("t") == pytest.approx(5.1)  # back to a positive balance


# -- on the execution path ----------------------------------------------------------------
async def test_provider_headers_stop_the_next_call_before_sending(
        emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(text="ok", headers={"x-ratelimit-remaining-requests": "0",
                                          "x-ratelimit-reset-requests": "6m0s"}))
    config = ResilienceConfig(rate_limit=RateLimitSettings(max_wait_s=10))
    h = await make_harness(emu, "openai", config=config)
    try:
        assert (await h.call(False)).error is None
        out = await h.call(False)
    finally:
        await h.client.close()
    assert isinstance(out.error, RateLimitedError)
    assert out.error.retry_after == pytest.approx(360.0, abs=1.0)
    assert len(emu.requests) == 1 and out.stats.attempts == 0


async def test_429_beyond_cap_pauses_later_calls(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.status(429, retry_after=120))
    config = ResilienceConfig(rate_limit=RateLimitSettings(max_wait_s=10),
                              retry=RetrySettings(max_retries=2))
    h = await make_harness(emu, "anthropic", config=config)
    try:
        first = await h.call(True)
        second = await h.call(True)
    finally:
        await h.client.close()
    assert isinstance(first.error, ProviderError) and first.error.retry_after == 120
    assert isinstance(second.error, RateLimitedError)
    assert len(emu.requests) == 1


async def test_rate_limited_calls_wait_through_injected_sleep(emu: ProviderEmulator) -> None:
    config = ResilienceConfig(rate_limit=RateLimitSettings(requests_per_second=4, burst=1))
    ft = FakeTime()
    h = await make_harness(emu, "gemini", config=config, fake_time=ft, real_clock=False)
    try:
        outs = [await h.call(stream) for stream in (False, True, False)]
    finally:
        await h.client.close()
    assert all(o.error is None for o in outs)
    assert ft.sleeps == [0.25, 0.25]
    assert outs[2].stats.extra["rate_limit_wait_s"] == 0.25
