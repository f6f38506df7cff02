"""1,000 streams cancelled at random points (seeded) under backpressure: afterwards every
in-flight slot, admission and probe is released, no pooled HTTP connection is checked
out, and no task is left pending."""

from __future__ import annotations

import asyncio
import random
import time

from ai_lib_python import AiClient
from ai_lib_python.client import CancelToken
from ai_lib_python.errors import AiLibError, CancelledError
from ai_lib_python.resilience import (
    BackpressureSettings,
    BreakerSettings,
    RateLimitSettings,
    ResilienceConfig,
    ResilienceSnapshot,
    ResilientExecutor,
)
from ai_lib_python.resilience._executor import target_key
from ai_lib_python.testing import Fault, ProviderEmulator, Reply
from tests.resilience._helpers import KEY

STREAMS = 1000
WAVE = 50
MAX_INFLIGHT = 8


class Boom(Exception):
    pass


async def settled_tasks(within: float) -> list[asyncio.Task[object]]:
    """The other tasks of this loop still pending after letting it run up to ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if not pending or time.monotonic() > deadline:
            return pending
        await asyncio.sleep(0.001)


async def test_cancelled_streams_release_every_slot() -> None:
    emu = ProviderEmulator.start_in_thread()  # its tasks live on another loop
    try:
        await _run(emu)
    finally:
        emu.stop()


async def _run(emu: ProviderEmulator) -> None:
    emu.set_default(Reply(text="lorem ipsum " * 8, chunk_size=8, chunk_delay=0.0003))
    config = ResilienceConfig(
        backpressure=BackpressureSettings(max_inflight=MAX_INFLIGHT, queue_timeout_s=60),
        rate_limit=RateLimitSettings(requests_per_second=1e6, burst=100_000),
        circuit_breaker=BreakerSettings(failure_threshold=10_000))
    executor = ResilientExecutor(config, environ={})
    client = await AiClient.create("openai/gpt-4o", api_key=KEY, base_url=emu.url_for("openai"),
                                   executor=executor)
    rng = random.Random(20251125)
    loop = asyncio.get_running_loop()
    outcomes: dict[str, int] = {}
    max_in_flight = 0

    async def consume(mode: str, stop_after: int, token: CancelToken | None) -> str:
        nonlocal max_in_flight
        stream = client.chat().user("go").stream() if token is None else (
            client.chat().user("go").cancel_token(token).stream())
        got = 0
        async with stream:
            async for _ in stream:
                got += 1
                max_in_flight = max(max_in_flight, executor.snapshot().in_flight)
                if got == stop_after:
                    if mode == "break":
                        break
                    if mode == "raise":
                        raise Boom
        return "completed" if got != stop_after or mode == "full" else "broke"

    async def one() -> None:
        mode = rng.choice(["break", "raise", "token", "task", "task", "full", "fault"])
        stop_after = rng.randint(0, 14)
        delay = rng.uniform(0.0, 0.012)
        token = CancelToken() if mode == "token" else None
        if mode == "fault":  # a reset mid-stream on the server side, no retry after events
            emu.enqueue(Fault.disconnect(rng.randint(1, 10)))
        task = asyncio.ensure_future(consume(mode, stop_after, token))
        handle = None
        if mode == "token":
            assert token is not None
            handle = loop.call_later(delay, token.cancel)
        elif mode == "task":
            handle = loop.call_later(delay, task.cancel)
        try:
            result = await task
        except (asyncio.CancelledError, CancelledError):
            result = "cancelled"
        except Boom:
            result = "raised"
        except AiLibError as exc:
            result = type(exc).__name__
        finally:
            if handle is not None:
                handle.cancel()
        outcomes[result] = outcomes.get(result, 0) + 1

    started = time.monotonic()
    for _ in range(STREAMS // WAVE):
        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(WAVE))), 60)
    elapsed = time.monotonic() - started

    # every slot, admission and limiter wait released (at once, nothing to wait for)
    assert executor.snapshot() == ResilienceSnapshot(), executor.snapshot()
    assert 1 <= max_in_flight <= MAX_INFLIGHT
    state = await executor.backend.breaker(target_key(client._targets[0]).key)
    assert state.probes == 0 and state.phase == "closed"
    # no pooled connection checked out, no request waiting for one
    pool = client._transport._client._transport._pool  # type: ignore[attr-defined]
    busy = [c for c in pool.connections if not (c.is_idle() or c.is_closed())]
    assert busy == [] and list(pool._requests) == []
    # nothing left running on this loop once it settles (httpx leaves its own body
    # iterators to the loop's async-generator finalizer: short tasks, bounded here)
    pending = await settled_tasks(1.0)
    assert pending == [], pending
    assert sum(outcomes.values()) == STREAMS
    assert {"cancelled", "broke", "raised", "completed"} <= set(outcomes), outcomes
    # the server saw every response end (completed or abandoned by the client)
    deadline = time.monotonic() + 5
    while any(r.response.outcome == "pending" for r in emu.requests) and (  # noqa: ASYNC110
            time.monotonic() < deadline):  # the emulator runs on another thread's loop
        await asyncio.sleep(0.01)
    assert not [r for r in emu.requests if r.response.outcome == "pending"]
    await client.close()
    assert elapsed < 45
