"""ResilientExecutor: the client's Executor with retry, fallback and the preflight gate.

``build(targets)`` composes, for one client::

    ResilientHandler          in-flight slot for the whole call (backpressure)
      FallbackHandler         targets in order, on fallbackable errors (2+ targets)
        RetryHandler          per target, its RetryPolicy (manifest <- env <- code)
          GatedHandler        per attempt: circuit breaker, rate limiter, settle
            Endpoint          wire encode -> transport -> decode / stream pipeline

``execute`` and ``stream`` take the same path; a stream is retried and falls back
only before its first event reaches the caller. Every layer wraps the next with
``contextlib.aclosing``, so closing or cancelling the outer stream closes the HTTP
response and frees every slot on the way out.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ai_lib_python.client._context import CallContext, ChatHandler, EventBatch
from ai_lib_python.errors import AiLibError
from ai_lib_python.resilience._backpressure import Backpressure
from ai_lib_python.resilience._breaker import CircuitBreaker
from ai_lib_python.resilience._config import (
    DEFAULT_BACKPRESSURE,
    Clock,
    Rand,
    ResilienceConfig,
    Sleep,
    default_clock,
    default_rand,
    default_sleep,
)
from ai_lib_python.resilience._fallback import FallbackHandler
from ai_lib_python.resilience._preflight import (
    SENT,
    WITHHELD,
    GatedHandler,
    PreflightChecker,
    TargetKey,
    aclosing_stream,
)
from ai_lib_python.resilience._ratelimit import RateLimiter
from ai_lib_python.resilience._retry import RetryHandler
from ai_lib_python.resilience._retry_policy import RetryPolicy
from ai_lib_python.resilience._state import MemoryBackend, StateBackend
from ai_lib_python.types import ChatRequest, ChatResponse

if TYPE_CHECKING:
    from ai_lib_python.client._endpoint import Endpoint


def target_key(endpoint: Endpoint) -> TargetKey:
    """The identity of a target for limits and breakers: provider + model + base URL."""
    manifest = endpoint.manifest
    return TargetKey(f"{manifest.id}/{endpoint.model}@{endpoint.base_url}", endpoint.name,
                     manifest.rate_limit_headers)


@dataclass(frozen=True, slots=True)
class ResilienceSnapshot:
    """Live counters of an executor; all zero when no call is running."""

    in_flight: int = 0
    """In-flight slots held (backpressure)."""
    queued: int = 0
    """Calls waiting for an in-flight slot."""
    open_admissions: int = 0
    """Attempts admitted by the gate and not settled yet."""
    rate_limit_waiting: int = 0
    """Calls sleeping for a rate-limit slot."""
    backend: Mapping[str, int] = field(default_factory=dict)
    """The state backend's counters (e.g. Redis outages)."""


class ResilientHandler:
    """The outermost layer: holds the in-flight slot, starts the call's counters."""

    def __init__(self, inner: ChatHandler, gate: PreflightChecker,
                 owner: ResilientExecutor | None = None) -> None:
        self._inner = inner
        self.gate = gate
        self._owner = owner
        self._closed = False

    @staticmethod
    def _queued(ctx: CallContext, queued_s: float) -> None:
        if queued_s:
            ctx.stats.extra["queue_wait_s"] = queued_s

    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        ctx.stats.attempts = int(ctx.attributes.get(SENT, 0))
        async with self.gate.slot() as queued:
            self._queued(ctx, queued)
            return await self._inner.execute(request, ctx)

    async def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[EventBatch]:
        ctx.stats.attempts = int(ctx.attributes.get(SENT, 0))
        try:
            async with self.gate.slot() as queued:
                self._queued(ctx, queued)
                async with aclosing_stream(self._inner.stream(request, ctx)) as events:
                    async for batch in events:
                        yield batch
        except AiLibError:
            withheld = ctx.attributes.pop(WITHHELD, None)
            if withheld is None or ctx.events_yielded:
                raise
            yield [withheld]  # what the plain path delivers before raising the same error
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._inner.aclose()
        finally:
            if self._owner is not None:
                await self._owner._release(self)


class ResilientExecutor:
    """Retry, fallback, circuit breaker, rate limiter and backpressure for a client.

    >>> config = ResilienceConfig(retry=RetrySettings(max_retries=5))
    >>> client = await AiClient.create(  # doctest: +SKIP
    ...     "openai/gpt-4o", executor=ResilientExecutor(config))

    ``config`` is resolved once here (code <- environment <- preset <- defaults; see
    ``_config``); each target's retry policy adds its manifest. ``clock`` (wall-clock
    seconds), ``sleep`` and ``rand`` are injectable so tests never wait. Breakers and
    rate-limit buckets live in the config's state backend (a MemoryBackend of this
    executor by default; a RedisBackend shares them between processes), so clients
    built by one executor share them; backpressure is per client.
    """

    def __init__(self, config: ResilienceConfig | None = None, *,
                 clock: Clock = default_clock, sleep: Sleep = default_sleep,
                 rand: Rand = default_rand, environ: Mapping[str, str] | None = None) -> None:
        given = config or ResilienceConfig()
        self.config = given.resolve(environ)
        self._clock = clock
        self._sleep = sleep
        self._rand = rand
        backend = self.config.state_backend
        self._owns_backend = given.state_backend is None
        self.backend: StateBackend = backend or MemoryBackend(clock=clock)
        cfg = self.config
        self.breaker = (CircuitBreaker(cfg.circuit_breaker, self.backend, clock=clock)
                        if cfg.circuit_breaker is not None else None)
        self.limiter = (RateLimiter(cfg.rate_limit, self.backend, clock=clock, sleep=sleep)
                        if cfg.rate_limit is not None else None)
        self._handlers: weakref.WeakSet[ResilientHandler] = weakref.WeakSet()
        self._open = 0

    def policy_for(self, endpoint: Endpoint) -> RetryPolicy:
        """The retry policy of one target: its manifest's, then env and code overrides."""
        return self.config.retry.policy_for(endpoint.manifest.retry)

    def build(self, targets: Sequence[Endpoint]) -> ChatHandler:
        """One client's handler over its targets (primary first, then fallbacks)."""
        if not targets:
            raise ValueError("a client needs at least one target")
        pressure = self.config.backpressure
        backpressure = None
        if pressure is not None:
            backpressure = Backpressure(
                pressure.max_inflight or DEFAULT_BACKPRESSURE.max_inflight or 64,
                pressure.queue_timeout_s if pressure.queue_timeout_s is not None else 30.0,
                sleep=self._sleep)
        gate = PreflightChecker(breaker=self.breaker, limiter=self.limiter,
                                backpressure=backpressure)
        members: list[tuple[str, ChatHandler]] = []
        for endpoint in targets:
            gated = GatedHandler(endpoint, target_key(endpoint), gate)
            members.append((endpoint.name, RetryHandler(
                gated, self.policy_for(endpoint), sleep=self._sleep, rand=self._rand)))
        inner: ChatHandler = members[0][1] if len(members) == 1 else FallbackHandler(members)
        handler = ResilientHandler(inner, gate, self)
        self._handlers.add(handler)
        self._open += 1
        return handler

    def snapshot(self) -> ResilienceSnapshot:
        """Counters summed over the clients this executor built."""
        in_flight = queued = admissions = 0
        for handler in list(self._handlers):
            gate = handler.gate
            admissions += gate.open_admissions
            if gate.backpressure is not None:
                in_flight += gate.backpressure.in_flight
                queued += gate.backpressure.queued
        waiting = self.limiter.waiting if self.limiter is not None else 0
        return ResilienceSnapshot(in_flight, queued, admissions, waiting,
                                  dict(self.backend.counters))

    async def _release(self, handler: ResilientHandler) -> None:
        """A client closed. When none is left open, close the backend this executor
        created (an ``AI_LIB_REDIS_URL`` one); a later build reconnects it lazily."""
        self._open -= 1
        if self._open <= 0 and self._owns_backend:
            await self.backend.aclose()


__all__ = ["ResilienceSnapshot", "ResilientExecutor", "ResilientHandler", "target_key"]
