"""Shared state in a real redis-server: one limit across OS processes, one breaker seen
by all, and explicit, bounded behaviour when Redis goes away."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from ai_lib_python import AiClient
from ai_lib_python.errors import CircuitOpenError, StateBackendError
from ai_lib_python.resilience import (
    BreakerSettings,
    MemoryBackend,
    RateLimitSettings,
    RedisBackend,
    ResilienceConfig,
    RetrySettings,
    StateBackend,
)
from ai_lib_python.resilience._state import BreakerState
from ai_lib_python.testing import Fault, ProviderEmulator
from tests.resilience._helpers import (
    KEY,
    FakeTime,
    RedisServer,
    free_port,
    make_harness,
    start_redis_on,
)

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4
RPS = 50.0
BURST = 10
WINDOW_S = 2.0


def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}:"


# -- the backend itself ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_backends_agree_on_bucket_steps(kind: str, redis_server: RedisServer) -> None:
    backend: StateBackend = (MemoryBackend() if kind == "memory"
                             else RedisBackend(redis_server.url, prefix=prefix()))
    try:
        slow = {"rate": 0.001, "capacity": 3.0}
        assert [await backend.take("a", **slow) for _ in range(3)] == [0.0, 0.0, 0.0]
        assert await backend.take("a", **slow) == pytest.approx(1000.0, rel=1e-3)
        assert await backend.take("u", rate=0.0, capacity=1.0) == 0.0  # unlimited
        await backend.adjust("u", rate=0.0, capacity=1.0, block_s=5.0)
        assert await backend.take("u", rate=0.0, capacity=1.0) == pytest.approx(5.0, abs=0.1)
        await backend.adjust("c", rate=0.001, capacity=10.0, cap=1.0)
        assert await backend.take("c", rate=0.001, capacity=10.0) == 0.0
        assert await backend.take("c", rate=0.001, capacity=10.0) > 900
        # a charge always succeeds and may take the balance below zero
        assert await backend.take("t", rate=0.001, capacity=5.0, cost=7.0, need=-1e300) == 0.0
        assert await backend.take("t", rate=0.001, capacity=5.0) == pytest.approx(3000, rel=1e-3)

        new = await backend.update_breaker("b", lambda s: BreakerState("open", 3, 123.0))
        assert new == await backend.breaker("b") == BreakerState("open", 3, 123.0)
        assert await backend.breaker("nothing") == BreakerState()
    finally:
        await backend.aclose()


async def test_breaker_updates_are_atomic_under_contention(redis_server: RedisServer) -> None:
    backends = [RedisBackend(redis_server.url, prefix="shared:") for _ in range(4)]
    try:
        def bump(s: BreakerState) -> BreakerState:
            return BreakerState(s.phase, s.failures + 1)

        await asyncio.gather(*(b.update_breaker("k", bump) for b in backends for _ in range(10)))
        assert (await backends[0].breaker("k")).failures == 40
        assert all(b.counters["conflicts"] == 0 and not b.degraded for b in backends)
    finally:
        for b in backends:
            await b.aclose()


async def test_failure_storm_opens_the_shared_breaker_once(redis_server: RedisServer) -> None:
    from ai_lib_python.resilience import CircuitBreaker

    backends = [RedisBackend(redis_server.url, prefix=prefix()) for _ in range(4)]
    shared = backends[0]._prefix
    for b in backends:
        b._prefix = shared
    breakers = [CircuitBreaker(BreakerSettings(failure_threshold=5, recovery_s=30), b)
                for b in backends]
    try:
        tickets = [await cb.admit("k") for cb in breakers for _ in range(50)]
        await asyncio.gather(*(breakers[i // 50].record(t, "failure")
                               for i, t in enumerate(tickets)))
        state = await backends[1].breaker("k")
        assert state.phase == "open" and state.failures == 5
        assert all(not b.degraded for b in backends)
        with pytest.raises(CircuitOpenError):
            await breakers[3].admit("k")
    finally:
        for b in backends:
            await b.aclose()


# -- across OS processes -----------------------------------------------------------------------
def spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "tests.resilience._redis_worker", *args],
                            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_processes_share_one_rate_limit(redis_server: RedisServer) -> None:
    emu = ProviderEmulator.start_in_thread()
    workers: list[subprocess.Popen[str]] = []
    try:
        key_prefix = prefix()
        workers = [spawn("limit", redis_server.url, emu.url_for("openai"), key_prefix,
                         str(RPS), str(BURST), str(WINDOW_S), "8") for _ in range(PROCESSES)]
        for w in workers:
            assert w.stdout is not None
            line = w.stdout.readline()
            assert line.strip() == "ready", (line, w.stderr.read() if w.stderr else "")
        start_at = time.monotonic() + 0.3
        for w in workers:
            assert w.stdin is not None
            w.stdin.write(f"{start_at}\n")
            w.stdin.flush()
        results = []
        for w in workers:
            out, err = w.communicate(timeout=30)
            assert w.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        emu.stop()
    made = sum(int(r["made"]) for r in results)
    received = [r.received_at for r in emu.requests if r.received_at >= start_at]
    assert len(emu.requests) - len(received) == PROCESSES  # the warm-up calls
    in_window = sum(1 for t in received if t <= start_at + WINDOW_S + 0.05)
    allowed = RPS * WINDOW_S + BURST
    print(f"shared limit: {made} calls by {PROCESSES} processes in {WINDOW_S}s "
          f"(limit {allowed:.0f}; {100 * made / allowed:.1f}%), per process "
          f"{[r['made'] for r in results]}")
    assert all(r["errors"] == 0 and r["counters"]["outages"] == 0 for r in results), results
    assert all(int(r["made"]) > 0 for r in results)  # every process got a share
    # a call cancelled at the deadline may have sent its request: the server counts it
    assert made <= len(received) == in_window <= made + PROCESSES
    for count in (made, len(received)):
        assert 0.95 * allowed <= count <= allowed + 1


def test_breaker_opened_by_one_process_is_open_for_another(redis_server: RedisServer) -> None:
    emu = ProviderEmulator.start_in_thread()
    try:
        emu.set_default(Fault.status(500))
        key_prefix = prefix()
        worker = spawn("breaker", redis_server.url, emu.url_for("openai"), key_prefix)
        out, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1]) == {"breaker": "open", "calls": 3}
        sent = len(emu.requests)
        assert sent == 2

        async def here() -> BaseException | None:
            backend = RedisBackend(redis_server.url, prefix=key_prefix)
            client = await (AiClient.builder().model("openai/gpt-4o").api_key(KEY)
                            .base_url(emu.url_for("openai")).with_retry(0)
                            .with_circuit_breaker(2, recovery_s=60)
                            .with_state_backend(backend).build())
            try:
                await client.chat().user("x").execute()
            except CircuitOpenError as exc:
                return exc
            finally:
                await client.close()
                await backend.aclose()
            return None

        err_here = asyncio.run(asyncio.wait_for(here(), 10))
        assert isinstance(err_here, CircuitOpenError)
        assert len(emu.requests) == sent  # failed fast, nothing sent
    finally:
        emu.stop()


# -- when Redis goes away ----------------------------------------------------------------------
async def test_killing_redis_falls_back_to_local_limits(
        redis_server: RedisServer, emu: ProviderEmulator,
        caplog: pytest.LogCaptureFixture) -> None:
    ft = FakeTime()
    backend = RedisBackend(redis_server.url, prefix=prefix(), clock=ft.clock,
                           socket_timeout=0.2, retry_interval_s=60)
    config = ResilienceConfig(
        rate_limit=RateLimitSettings(requests_per_second=1, burst=2, max_wait_s=10),
        circuit_breaker=BreakerSettings(failure_threshold=5), state_backend=backend,
        retry=RetrySettings(max_retries=0))
    h = await make_harness(emu, "openai", config=config, fake_time=ft, real_clock=False)
    try:
        assert (await h.call(False)).error is None
        assert backend.counters == {"outages": 0, "errors": 0, "degraded_ops": 0,
                                    "conflicts": 0}
        redis_server.kill()
        caplog.set_level(logging.WARNING, logger="ai_lib_python.resilience")
        started = time.monotonic()
        outs = [await h.call(stream) for stream in (False, True, False)]
        assert time.monotonic() - started < 3.0  # nothing hung on the dead server
        assert [o.error for o in outs] == [None, None, None]
        # local limits apply: a fresh local bucket of 2, so the third call waited a second
        assert ft.sleeps == [1.0]
        assert backend.degraded
        counters = backend.counters
        assert counters["outages"] == 1 and counters["errors"] == 1
        assert counters["degraded_ops"] >= 6
        warnings = [r for r in caplog.records if r.name == "ai_lib_python.resilience"]
        assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()
        assert "local limits" in warnings[0].getMessage()
        assert h.executor.snapshot().backend == counters
    finally:
        await h.client.close()
        await backend.aclose()


async def test_killing_redis_fails_closed_when_configured(
        redis_server: RedisServer, emu: ProviderEmulator) -> None:
    backend = RedisBackend(redis_server.url, prefix=prefix(), on_error="fail_closed",
                           socket_timeout=0.2)
    config = ResilienceConfig(rate_limit=RateLimitSettings(requests_per_second=100),
                              state_backend=backend)
    h = await make_harness(emu, "anthropic", config=config)
    try:
        assert (await h.call(True)).error is None
        redis_server.kill()
        started = time.monotonic()
        out = await h.call(False)
        assert time.monotonic() - started < 2.0
        assert isinstance(out.error, StateBackendError)
        assert out.stats.attempts == 0 and len(emu.requests) == 1
        assert "fail closed" in str(out.error)
    finally:
        await h.client.close()
        await backend.aclose()


@pytest.mark.parametrize("where", ["closed port", "full accept queue"])
async def test_unreachable_redis_at_start_does_not_hang(
        where: str, emu: ProviderEmulator, caplog: pytest.LogCaptureFixture) -> None:
    import socket

    server = None
    fillers: list[socket.socket] = []
    port = free_port()
    if where == "full accept queue":
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(s)
    caplog.set_level(logging.WARNING, logger="ai_lib_python.resilience")
    backend = RedisBackend(f"redis://127.0.0.1:{port}/0", socket_timeout=0.2)
    config = ResilienceConfig(rate_limit=RateLimitSettings(requests_per_second=100),
                              circuit_breaker=BreakerSettings(), state_backend=backend)
    h = await make_harness(emu, "gemini", config=config)
    try:
        started = time.monotonic()
        outs = [await h.call(False), await h.call(True)]
        elapsed = time.monotonic() - started
        assert [o.error for o in outs] == [None, None]
        assert elapsed < 2.0, elapsed  # one bounded failure, then local until the retry
        assert backend.counters["outages"] == 1
        assert any("unreachable" in r.getMessage() for r in caplog.records)
    finally:
        await h.client.close()
        await backend.aclose()
        for s in fillers:
            s.close()
        if server is not None:
            server.close()


async def test_redis_comes_back_after_the_retry_interval(redis_server: RedisServer) -> None:
    clock = [0.0]
    backend = RedisBackend(redis_server.url, prefix=prefix(), socket_timeout=0.2,
                           retry_interval_s=5.0, monotonic=lambda: clock[0])
    try:
        port = redis_server.port
        redis_server.kill()
        assert await backend.take("k", rate=1.0, capacity=1.0) == 0.0  # served locally
        assert backend.degraded
        revived = start_redis_on(port)
        try:
            assert await backend.take("k", rate=1.0, capacity=1.0) > 0  # still local
            clock[0] += 5.0
            assert await backend.take("k", rate=1.0, capacity=1.0) == 0.0  # Redis again
            assert not backend.degraded
        finally:
            revived.kill()
    finally:
        await backend.aclose()


async def test_cancelling_a_call_waiting_on_redis_is_never_swallowed(
        redis_server: RedisServer) -> None:
    # redis-py wraps socket writes in asyncio.wait_for; before Python 3.12 that can eat
    # the caller's cancellation. The backend must re-raise it.
    if not hasattr(asyncio.Task, "cancelling"):
        pytest.skip("Task.cancelling() needs Python 3.11")
    backend = RedisBackend(redis_server.url, prefix=prefix())
    rng = random.Random(7)

    async def busy() -> str:
        for _ in range(50):
            await backend.take("k", rate=0.0, capacity=1.0)
        return "finished"

    cancelled = completed = 0
    try:
        for _ in range(100):
            tasks = [asyncio.ensure_future(busy()) for _ in range(4)]
            await asyncio.sleep(rng.uniform(0, 0.003))
            hit = [t.cancel() for t in tasks]
            results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
            for was_cancelled, result in zip(hit, results, strict=True):
                if was_cancelled:
                    cancelled += 1
                    completed += not isinstance(result, asyncio.CancelledError)
    finally:
        await backend.aclose()
    assert cancelled > 100 and completed == 0
