"""RedisBackend: limiter buckets and breaker states shared by every process using one Redis.

Needs the ``redis`` extra (``pip install 'ai-lib-python[redis]'``); this module is
imported only when a RedisBackend is created.

* A bucket step is one Lua script (loaded once, then run by its SHA), timed by the
  Redis server's clock, so N processes consume from one bucket atomically.
* A breaker update runs the same pure transition as the in-memory backend, then
  writes with a compare-and-set script (one round trip), retried on a conflict.
* When Redis cannot be reached (connect refused, socket timeout: both small), the
  backend says so once through ``logging`` (a warning), counts it in
  :attr:`RedisBackend.counters`, and for ``retry_interval_s`` does not try Redis
  again. Meanwhile, with ``on_error="local"`` (the default) every operation runs
  on a local MemoryBackend (each process then enforces the limits alone); with
  ``on_error="fail_closed"`` admissions raise StateBackendError.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ai_lib_python.errors import StateBackendError, redact
from ai_lib_python.resilience._config import Clock, OnStateError, default_clock
from ai_lib_python.resilience._state import (
    BreakerState,
    BreakerTransition,
    MemoryBackend,
    StateBackend,
)

log = logging.getLogger("ai_lib_python.resilience")

_T = TypeVar("_T")

# Mirrors _state.bucket_take / bucket_adjust (TOKEN_EPSILON = 0.000001), on the
# server's clock.
# KEYS[1]: bucket hash. ARGV: mode ("take"|"adjust"), rate, capacity, cost, need, cap, block_s.
_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3])
local vals = redis.call('HMGET', KEYS[1], 'tokens', 'stamp', 'blocked')
local tokens = tonumber(vals[1])
local stamp = tonumber(vals[2])
local blocked = tonumber(vals[3]) or 0
if tokens == nil or stamp == nil then
  tokens = capacity
  stamp = now
end
if rate > 0 then
  tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
else
  tokens = capacity
end
local wait = 0
if ARGV[1] == 'take' then
  local cost = tonumber(ARGV[4])
  local need = tonumber(ARGV[5])
  if now < blocked then
    wait = blocked - now
  elseif rate <= 0 or tokens >= need - 0.000001 then
    if rate > 0 then tokens = tokens - cost end
  else
    wait = (need - tokens) / rate
  end
else
  local cap = tonumber(ARGV[6])
  local block = tonumber(ARGV[7])
  if cap ~= nil and rate > 0 then tokens = math.min(tokens, cap) end
  if block ~= nil and block > 0 then blocked = math.max(blocked, now + block) end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now),
           'blocked', tostring(blocked))
local ttl = 60
if rate > 0 then ttl = ttl + math.ceil(capacity / rate) end
ttl = math.max(ttl, math.ceil(blocked - now) + 1)
redis.call('EXPIRE', KEYS[1], ttl)
return tostring(wait)
"""

# Compare-and-set of a breaker state. KEYS[1]; ARGV: expected ("" = absent), new, ttl.
# Returns {1, ""} when written, else {0, current value}.
_CAS_LUA = """
local cur = redis.call('GET', KEYS[1])
if cur == false then cur = '' end
if cur ~= ARGV[1] then return {0, cur} end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
return {1, ''}
"""

_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
_BREAKER_TTL_S = 24 * 3600
_CAS_ATTEMPTS = 64


class RedisBackend(StateBackend):
    """Shared state in Redis, degrading explicitly when Redis is unreachable.

    Args:
        url: ``redis://host:port/db`` (or ``rediss://``); ignored when ``client``
            is given.
        client: A ``redis.asyncio.Redis`` to use instead (not closed by this backend).
        prefix: Prefix of every key this backend writes.
        on_error: ``"local"`` (default): serve from local state while Redis is
            unreachable; ``"fail_closed"``: refuse admissions (StateBackendError).
        socket_timeout: Seconds for connecting and for each command (small, so an
            unreachable Redis never stalls a call).
        retry_interval_s: After a failure, how long to stay on the fallback before
            trying Redis again.
        clock: Wall clock for breaker transitions (and the local fallback).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        client: aioredis.Redis | None = None,
        prefix: str = "ai_lib:",
        on_error: OnStateError = "local",
        socket_timeout: float = 0.25,
        retry_interval_s: float = 5.0,
        clock: Clock = default_clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if on_error not in ("local", "fail_closed"):
            raise ValueError("on_error must be 'local' or 'fail_closed'")
        self._owns = client is None
        self._client: aioredis.Redis = client or aioredis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._url = redact(url if client is None else "<client>")
        self._prefix = prefix
        self.on_error: OnStateError = on_error
        self._retry_interval = retry_interval_s
        self._clock = clock
        self._monotonic = monotonic
        self._script = self._client.register_script(_BUCKET_LUA)
        self._cas = self._client.register_script(_CAS_LUA)
        self.local = MemoryBackend(clock=clock)
        """The state used while Redis is unreachable (with ``on_error="local"``)."""
        self._down_until = 0.0
        self._down = False
        self._counts = {"outages": 0, "errors": 0, "degraded_ops": 0, "conflicts": 0}

    @property
    def counters(self) -> Mapping[str, int]:
        """``outages``: times Redis became unreachable; ``errors``: failed Redis
        operations; ``degraded_ops``: operations served locally or refused;
        ``conflicts``: breaker updates dropped after too many concurrent writers."""
        return dict(self._counts)

    @property
    def degraded(self) -> bool:
        """True while operations bypass Redis after a failure."""
        return self._down

    # -- the guard ----------------------------------------------------------------------
    async def _guard(self, remote: Callable[[], Awaitable[_T]],
                     local: Callable[[], Awaitable[_T]]) -> _T:
        if self._down and self._monotonic() < self._down_until:
            return await self._degraded(local, None)
        cancels = _cancel_requests()
        try:
            # Bounded by the client's socket timeouts (no asyncio.wait_for here: before
            # Python 3.12 it can swallow the caller's cancellation).
            result = await remote()
        except _UNREACHABLE as exc:
            _honour_cancellation(cancels)
            self._mark_down(exc)
            return await self._degraded(local, exc)
        except RedisError as exc:
            _honour_cancellation(cancels)
            raise StateBackendError(f"Redis state backend at {self._url} failed: "
                                    f"{redact(str(exc))}") from None
        _honour_cancellation(cancels)
        if self._down:
            self._down = False
            log.info("Redis state backend at %s is reachable again; shared state resumed",
                     self._url)
        return result

    def _mark_down(self, exc: BaseException) -> None:
        self._counts["errors"] += 1
        self._down_until = self._monotonic() + self._retry_interval
        if not self._down:
            self._down = True
            self._counts["outages"] += 1
            action = ("using local limits and breakers" if self.on_error == "local"
                      else "refusing calls (fail_closed)")
            log.warning("Redis state backend at %s is unreachable (%s: %s); %s, retrying "
                        "Redis in %.1fs", self._url, type(exc).__name__,
                        redact(str(exc)) or "no detail", action, self._retry_interval)

    async def _degraded(self, local: Callable[[], Awaitable[_T]],
                        exc: BaseException | None) -> _T:
        self._counts["degraded_ops"] += 1
        if self.on_error == "fail_closed":
            raise StateBackendError(
                f"Redis state backend at {self._url} is unreachable and configured to "
                f"fail closed") from exc
        return await local()

    # -- buckets ------------------------------------------------------------------------
    async def _bucket(self, key: str, args: list[Any]) -> float:
        raw = await self._script(keys=[self._prefix + "rl:" + key], args=args)
        return float(raw.decode() if isinstance(raw, bytes) else raw)

    async def take(self, key: str, *, rate: float, capacity: float, cost: float = 1.0,
                   need: float = 1.0) -> float:
        return await self._guard(
            lambda: self._bucket(key, ["take", rate, capacity, cost, need, "", ""]),
            lambda: self.local.take(key, rate=rate, capacity=capacity, cost=cost, need=need))

    async def adjust(self, key: str, *, rate: float, capacity: float,
                     cap: float | None = None, block_s: float | None = None) -> None:
        args = ["adjust", rate, capacity, 0, 0, "" if cap is None else cap,
                "" if block_s is None else block_s]

        async def remote() -> None:
            await self._bucket(key, args)

        await self._guard(remote, lambda: self.local.adjust(
            key, rate=rate, capacity=capacity, cap=cap, block_s=block_s))

    # -- breakers -----------------------------------------------------------------------
    async def breaker(self, key: str) -> BreakerState:
        async def remote() -> BreakerState:
            return BreakerState.loads(await self._client.get(self._prefix + "cb:" + key))

        return await self._guard(remote, lambda: self.local.breaker(key))

    async def update_breaker(self, key: str, transition: BreakerTransition) -> BreakerState:
        name = self._prefix + "cb:" + key

        async def remote() -> BreakerState:
            raw = _text(await self._client.get(name))
            for attempt in range(_CAS_ATTEMPTS):
                old = BreakerState.loads(raw)
                new = transition(old)
                if new == old:
                    return new
                written, current = await self._cas(keys=[name],
                                                   args=[raw, new.dumps(), _BREAKER_TTL_S])
                if int(written):
                    return new
                raw = _text(current)
                if attempt >= 4:  # heavy contention: spread the writers out a little
                    await asyncio.sleep(0.0005 * attempt * random.random())
            self._counts["conflicts"] += 1
            return BreakerState.loads(raw)

        return await self._guard(remote, lambda: self.local.update_breaker(key, transition))

    async def aclose(self) -> None:
        if self._owns:
            try:
                await self._client.aclose()
            except (RedisError, OSError):
                pass


def _cancel_requests() -> int:
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    return int(cancelling()) if cancelling is not None else 0


def _honour_cancellation(before: int) -> None:
    """Raise CancelledError if the task was cancelled during a Redis command and the
    client swallowed it: redis-py wraps its socket writes in ``asyncio.wait_for``, which
    before Python 3.12 returns the result instead when both happen at once (the caller
    would go on as if never cancelled). Needs ``Task.cancelling`` (3.11+)."""
    if _cancel_requests() > before:
        raise asyncio.CancelledError


def _text(raw: Any) -> str:
    if raw is None or raw is False:
        return ""
    return raw.decode() if isinstance(raw, bytes) else str(raw)


__all__ = ["RedisBackend"]
