"""Where limiter buckets and breaker states live: this process, or shared (Redis).

A backend offers two atomic primitives, so several processes sharing one backend
respect one limit and see one breaker:

* ``take``: refill a token bucket, then consume ``cost`` if the balance is at least
  ``need`` and the bucket is not blocked; else say how long to wait;
* ``update_breaker``: read a breaker's state, apply a pure transition, write it back.

The bucket arithmetic is :func:`bucket_take` (the Redis backend runs the same steps
in a Lua script); the breaker transitions live in ``_breaker.py`` and run unchanged
on every backend.
"""

from __future__ import annotations

import abc
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Literal

from ai_lib_python.resilience._config import Clock, default_clock

BreakerPhase = Literal["closed", "open", "half_open"]
TOKEN_EPSILON = 1e-6
"""Balances this close to ``need`` count as enough (float refill at epoch-scale times)."""


@dataclass(frozen=True, slots=True)
class BreakerState:
    """One target's breaker. Times are wall-clock seconds (``time.time``)."""

    phase: BreakerPhase = "closed"
    failures: int = 0
    """Consecutive failures while closed; the count that opened it while open."""
    open_until: float = 0.0
    probes: int = 0
    """Probes in flight while half-open."""
    probe_lease_until: float = 0.0
    """Probes granted before this time are presumed lost after it (a crashed holder)."""
    successes: int = 0
    """Successful probes while half-open."""

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str | bytes | None) -> BreakerState:
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except (ValueError, TypeError):
            return cls()


@dataclass(slots=True)
class Bucket:
    tokens: float
    stamp: float
    blocked_until: float = 0.0


def bucket_take(bucket: Bucket | None, now: float, rate: float, capacity: float,
                cost: float, need: float) -> tuple[Bucket, float]:
    """One step of a token bucket; returns the new bucket and the wait (0: granted).

    ``rate`` tokens per second up to ``capacity`` (a new bucket starts full); with
    ``rate <= 0`` the bucket is unlimited and only a block can refuse. ``need`` is
    the balance required, ``cost`` what a grant subtracts (the balance may go
    negative when a charge exceeds it).
    """
    if bucket is None:
        bucket = Bucket(capacity, now)
    if rate > 0:
        bucket.tokens = min(capacity, bucket.tokens + max(0.0, now - bucket.stamp) * rate)
    else:
        bucket.tokens = capacity
    bucket.stamp = now
    if now < bucket.blocked_until:
        return bucket, bucket.blocked_until - now
    if rate <= 0 or bucket.tokens >= need - TOKEN_EPSILON:
        if rate > 0:
            bucket.tokens -= cost
        return bucket, 0.0
    return bucket, (need - bucket.tokens) / rate


def bucket_adjust(bucket: Bucket | None, now: float, rate: float, capacity: float,
                  cap: float | None, block_s: float | None) -> Bucket:
    """Lower the balance to ``cap`` and/or refuse grants for ``block_s`` seconds."""
    bucket, _ = bucket_take(bucket, now, rate, capacity, 0.0, -math.inf)
    if cap is not None and rate > 0:
        bucket.tokens = min(bucket.tokens, cap)
    if block_s is not None and block_s > 0:
        bucket.blocked_until = max(bucket.blocked_until, now + block_s)
    return bucket


BreakerTransition = Callable[[BreakerState], BreakerState]


class StateBackend(abc.ABC):
    """Storage of limiter buckets and breaker states, atomic per operation."""

    @abc.abstractmethod
    async def take(self, key: str, *, rate: float, capacity: float, cost: float = 1.0,
                   need: float = 1.0) -> float:
        """Atomically run :func:`bucket_take` on ``key``; seconds to wait, 0 when granted."""

    @abc.abstractmethod
    async def adjust(self, key: str, *, rate: float, capacity: float,
                     cap: float | None = None, block_s: float | None = None) -> None:
        """Atomically run :func:`bucket_adjust` on ``key``."""

    @abc.abstractmethod
    async def breaker(self, key: str) -> BreakerState:
        """The breaker state stored under ``key`` (closed when absent)."""

    @abc.abstractmethod
    async def update_breaker(self, key: str, transition: BreakerTransition) -> BreakerState:
        """Atomically replace the state under ``key`` with ``transition(state)``.

        ``transition`` is pure and may run more than once (optimistic concurrency).
        """

    @property
    def counters(self) -> Mapping[str, int]:
        """Operational counters for telemetry (e.g. times the shared store was down)."""
        return {}

    async def aclose(self) -> None:
        """Release connections; the backend may not be used afterwards."""


class MemoryBackend(StateBackend):
    """State of this process only. Operations never suspend, so each is atomic."""

    def __init__(self, *, clock: Clock = default_clock) -> None:
        self._clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._breakers: dict[str, BreakerState] = {}

    async def take(self, key: str, *, rate: float, capacity: float, cost: float = 1.0,
                   need: float = 1.0) -> float:
        return self.take_now(key, rate=rate, capacity=capacity, cost=cost, need=need)

    def take_now(self, key: str, *, rate: float, capacity: float, cost: float = 1.0,
                 need: float = 1.0) -> float:
        bucket, wait = bucket_take(self._buckets.get(key), self._clock(), rate, capacity,
                                   cost, need)
        self._buckets[key] = bucket
        return wait

    async def adjust(self, key: str, *, rate: float, capacity: float,
                     cap: float | None = None, block_s: float | None = None) -> None:
        self._buckets[key] = bucket_adjust(self._buckets.get(key), self._clock(), rate,
                                           capacity, cap, block_s)

    async def breaker(self, key: str) -> BreakerState:
        return self._breakers.get(key) or BreakerState()

    async def update_breaker(self, key: str, transition: BreakerTransition) -> BreakerState:
        new = transition(self._breakers.get(key) or BreakerState())
        self._breakers[key] = new
        return new


__all__ = [
    "BreakerPhase",
    "BreakerState",
    "BreakerTransition",
    "Bucket",
    "MemoryBackend",
    "StateBackend",
    "bucket_adjust",
    "bucket_take",
]
