"""CircuitBreaker transitions and Backpressure alone (time injected), and the in-flight
slot held by a stream until it is closed (end to end)."""

from __future__ import annotations

import asyncio

import pytest

from ai_lib_python.errors import (
    BackpressureError,
    CancelledError,
    CircuitOpenError,
    ConnectError,
    IdleTimeoutError,
    RateLimitedError,
    StreamDecodeError,
    provider_error,
)
from ai_lib_python.resilience import (
    Backpressure,
    BackpressureSettings,
    BreakerSettings,
    CircuitBreaker,
    MemoryBackend,
    ResilienceConfig,
    ResilientExecutor,
)
from ai_lib_python.resilience._breaker import PROBE_LEASE_S, verdict
from ai_lib_python.testing import Fault, ProviderEmulator, Reply
from tests.resilience._helpers import CALL_LIMIT_S, FakeTime, make_harness


def breaker(ft: FakeTime, backend: MemoryBackend | None = None, **kw: int | float
            ) -> CircuitBreaker:
    settings = BreakerSettings(**{"failure_threshold": 3, "recovery_s": 10.0, **kw})  # type: ignore[arg-type]
    return CircuitBreaker(settings, backend or MemoryBackend(clock=ft.clock), clock=ft.clock)


def test_verdicts() -> None:
    assert verdict(None) == "success"
    assert verdict(provider_error(status=503, body={})) == "failure"
    assert verdict(ConnectError("reset")) == "failure"
    assert verdict(IdleTimeoutError("idle")) == "failure"
    assert verdict(provider_error(status=400, body={})) == "success"  # the target answered
    assert verdict(provider_error(status=429, body={})) == "none"
    assert verdict(StreamDecodeError("bad")) == "none"
    assert verdict(CancelledError("stop")) == "none"
    assert verdict(RateLimitedError("t", 1.0, max_wait_s=0)) == "none"
    assert verdict(asyncio.CancelledError()) == "none"
    assert verdict(GeneratorExit(), answered=True) == "success"


async def test_opens_after_consecutive_failures_and_fails_fast(fake_time: FakeTime) -> None:
    cb = breaker(fake_time)
    for _ in range(2):
        await cb.record(await cb.admit("k"), "failure")
    await cb.record(await cb.admit("k"), "success")  # resets the streak
    for _ in range(3):
        await cb.record(await cb.admit("k"), "failure")
    assert (await cb.state("k")).phase == "open"
    with pytest.raises(CircuitOpenError) as info:
        await cb.admit("k", target="openai/gpt-4o")
    assert info.value.retry_after == 10.0 and info.value.failures == 3
    assert info.value.until.timestamp() == fake_time.now + 10.0


async def test_half_open_probes_are_bounded(fake_time: FakeTime) -> None:
    cb = breaker(fake_time, failure_threshold=1, half_open_probes=2, success_threshold=2)
    await cb.record(await cb.admit("k"), "failure")
    fake_time.advance(10.0)
    p1, p2 = await cb.admit("k"), await cb.admit("k")
    assert p1.probe and p2.probe
    with pytest.raises(CircuitOpenError):
        await cb.admit("k")  # both probe slots taken
    await cb.record(p1, "success")
    assert (await cb.state("k")).phase == "half_open"
    p3 = await cb.admit("k")
    await cb.record(p2, "none")  # no verdict: frees its slot only
    await cb.record(p3, "success")
    assert (await cb.state("k")).phase == "closed"


async def test_failed_probe_reopens(fake_time: FakeTime) -> None:
    cb = breaker(fake_time, failure_threshold=1)
    await cb.record(await cb.admit("k"), "failure")
    fake_time.advance(10.0)
    await cb.record(await cb.admit("k"), "failure")
    state = await cb.state("k")
    assert state.phase == "open" and state.open_until == fake_time.now + 10.0


async def test_lost_probe_expires_with_its_lease(fake_time: FakeTime) -> None:
    cb = breaker(fake_time, failure_threshold=1)
    await cb.record(await cb.admit("k"), "failure")
    fake_time.advance(10.0)
    await cb.admit("k")  # a probe whose holder never settles (its process died)
    with pytest.raises(CircuitOpenError):
        await cb.admit("k")
    fake_time.advance(PROBE_LEASE_S)
    assert (await cb.admit("k")).probe


async def test_breakers_sharing_a_backend_share_state(fake_time: FakeTime) -> None:
    backend = MemoryBackend(clock=fake_time.clock)
    one, two = breaker(fake_time, backend), breaker(fake_time, backend)
    for _ in range(3):
        await one.record(await one.admit("k"), "failure")
    with pytest.raises(CircuitOpenError):
        await two.admit("k")


# -- backpressure ---------------------------------------------------------------------------
class ManualTimer:
    """An injected sleep that returns when the test says so."""

    def __init__(self) -> None:
        self.fire = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        await self.fire.wait()


async def test_backpressure_queues_fifo_and_times_out() -> None:
    timer = ManualTimer()
    bp = Backpressure(2, 5.0, sleep=timer.sleep)
    await bp.acquire()
    await bp.acquire()
    order: list[int] = []

    async def waiter(i: int) -> None:
        await bp.acquire()
        order.append(i)

    w1 = asyncio.ensure_future(waiter(1))
    w2 = asyncio.ensure_future(waiter(2))
    await asyncio.sleep(0)
    assert (bp.in_flight, bp.queued) == (2, 2)
    bp.release()
    await asyncio.sleep(0)
    assert order == [1] and bp.in_flight == 2
    timer.fire.set()  # the queue timeout elapses for the one still waiting
    with pytest.raises(BackpressureError) as info:
        await w2
    assert "2 in-flight slots" in str(info.value)
    await w1
    bp.release()
    bp.release()
    assert (bp.in_flight, bp.queued) == (0, 0)


async def test_cancelled_waiter_leaves_the_queue() -> None:
    bp = Backpressure(1, 60.0)
    await bp.acquire()
    task = asyncio.ensure_future(bp.acquire())
    await asyncio.sleep(0)
    assert bp.queued == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert bp.queued == 0
    bp.release()
    assert bp.in_flight == 0


async def test_slot_handed_to_a_cancelled_waiter_is_passed_on() -> None:
    bp = Backpressure(1, 60.0)
    await bp.acquire()
    first = asyncio.ensure_future(bp.acquire())
    second = asyncio.ensure_future(bp.acquire())
    await asyncio.sleep(0)
    bp.release()  # hands the slot to `first`...
    first.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1.0)
    assert bp.in_flight == 1 and bp.queued == 0


async def test_stream_holds_its_slot_until_closed(emu: ProviderEmulator) -> None:
    emu.set_default(Reply(text="a stream long enough to read slowly", chunk_size=3))
    config = ResilienceConfig(backpressure=BackpressureSettings(max_inflight=1,
                                                                queue_timeout_s=0.05))
    h = await make_harness(emu, "openai", config=config, sleep=asyncio.sleep)
    try:
        stream = h.client.chat().user("x").stream()
        first = await asyncio.wait_for(stream.__anext__(), CALL_LIMIT_S)
        assert first is not None
        assert h.executor.snapshot().in_flight == 1
        blocked = await h.call(False)
        assert isinstance(blocked.error, BackpressureError)
        assert blocked.stats.attempts == 0
        await stream.aclose()
        assert h.executor.snapshot().in_flight == 0
        assert (await h.call(False)).error is None
        assert h.executor.snapshot() == type(h.executor.snapshot())()
    finally:
        await h.client.close()


async def test_backpressure_slot_spans_retry_waits(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.status(503), Fault.status(503))
    config = ResilienceConfig(backpressure=BackpressureSettings(max_inflight=1))
    in_flight_while_waiting: list[int] = []
    holder: list[ResilientExecutor] = []

    async def sleep(seconds: float) -> None:
        in_flight_while_waiting.append(holder[0].snapshot().in_flight)

    h = await make_harness(emu, "anthropic", config=config, sleep=sleep)
    holder.append(h.executor)
    try:
        out = await h.call(True)
    finally:
        await h.client.close()
    assert out.error is None and out.stats.attempts == 3
    assert in_flight_while_waiting == [1, 1]
    assert h.executor.snapshot().in_flight == 0
