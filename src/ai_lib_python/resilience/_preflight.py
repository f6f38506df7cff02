"""PreflightChecker: the one gate every call and every attempt passes before a request.

* :meth:`PreflightChecker.slot` - once per call, for its whole duration: an
  in-flight slot of the client (backpressure).
* :meth:`PreflightChecker.admit` - once per attempt on a target: the target's
  circuit breaker (fail fast), then its rate limiter (wait, or fail when the wait
  is too long). Every admission is settled exactly once with :meth:`settle`,
  which reports the outcome to the breaker and adapts the limiter.

:meth:`settle` never raises a library error: a broken state backend must not turn a
delivered answer into an error.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar

from ai_lib_python.client._context import CallContext, ChatHandler, EventBatch
from ai_lib_python.client._endpoint import RESPONSE_HEADERS
from ai_lib_python.errors import AiLibError, ProviderError
from ai_lib_python.resilience._backpressure import Backpressure
from ai_lib_python.resilience._breaker import CircuitBreaker, Ticket, Verdict, verdict
from ai_lib_python.resilience._ratelimit import RateLimiter
from ai_lib_python.types import ChatRequest, ChatResponse, StreamError, StreamEvent

log = logging.getLogger("ai_lib_python.resilience")


@dataclass(frozen=True, slots=True)
class TargetKey:
    """Who a limit or breaker is about: provider + model + base URL."""

    key: str
    name: str
    """``provider/model``, for messages and CallStats.target."""
    rate_limit_headers: Mapping[str, str]


@dataclass(slots=True)
class Admission:
    """One admitted attempt, to be settled once."""

    target: TargetKey
    ticket: Ticket | None
    rate_wait_s: float
    settled: bool = False


class PreflightChecker:
    """Backpressure per call; breaker and rate limiter per attempt."""

    def __init__(self, *, breaker: CircuitBreaker | None = None,
                 limiter: RateLimiter | None = None,
                 backpressure: Backpressure | None = None) -> None:
        self.breaker = breaker
        self.limiter = limiter if limiter is not None and limiter.enabled else None
        self.backpressure = backpressure
        self.open_admissions = 0
        """Admissions not settled yet (0 when idle: a leak check)."""

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Hold an in-flight slot (if backpressure is on); yields the seconds queued."""
        if self.backpressure is None:
            yield 0.0
            return
        async with self.backpressure.slot() as waited:
            yield waited

    async def admit(self, target: TargetKey) -> Admission:
        """Breaker, then limiter. Raises CircuitOpenError, RateLimitedError or
        StateBackendError; nothing is held when it raises."""
        ticket = None
        if self.breaker is not None:
            ticket = await self.breaker.admit(target.key, target=target.name)
        waited = 0.0
        if self.limiter is not None:
            try:
                waited = await self.limiter.acquire(target.key, target=target.name)
            except BaseException:
                if ticket is not None and ticket.probe:
                    await self._record(ticket, "none")
                raise
        self.open_admissions += 1
        return Admission(target, ticket, waited)

    async def settle(self, admission: Admission, error: BaseException | None, *,
                     answered: bool = False, headers: Mapping[str, str] | None = None,
                     tokens: int = 0) -> str | None:
        """Report how the attempt ended; returns the breaker phase after it (if any)."""
        if admission.settled:
            return None
        admission.settled = True
        self.open_admissions -= 1
        phase: str | None = admission.ticket.phase if admission.ticket is not None else None
        if admission.ticket is not None:
            new = await self._record(admission.ticket, verdict(error, answered=answered))
            if new is not None:
                phase = new
        if self.limiter is not None:
            key = admission.target
            try:
                await self.limiter.observe(key.key, headers, key.rate_limit_headers, error)
                if tokens:
                    await self.limiter.charge(key.key, tokens)
            except AiLibError as exc:  # the state backend failed closed: keep the answer
                log.debug("rate limiter update skipped: %s", exc)
        return phase

    @property
    def wants_usage(self) -> bool:
        """Whether settle() needs the tokens a response used (tokens-per-minute limit)."""
        return self.limiter is not None and bool(self.limiter.tokens_per_minute)

    async def _record(self, ticket: Ticket, outcome: Verdict) -> str | None:
        assert self.breaker is not None
        try:
            state = await self.breaker.record(ticket, outcome)
        except AiLibError as exc:
            log.debug("circuit breaker update skipped: %s", exc)
            return None
        return state.phase if state is not None else None


# -- the per-attempt layer -------------------------------------------------------------
_E = TypeVar("_E")


class aclosing_stream(Generic[_E]):
    """``contextlib.aclosing`` for any async iterator: closes it if it can be closed.

    Every layer wraps the stream of the layer below in one of these, so closing the
    outermost stream closes the chain down to the HTTP response.
    """

    __slots__ = ("_events",)

    def __init__(self, events: AsyncIterator[_E]) -> None:
        self._events = events

    async def __aenter__(self) -> AsyncIterator[_E]:
        return self._events

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        aclose = getattr(self._events, "aclose", None)
        if aclose is not None:
            await aclose()


SENT = "resilience.sent"
"""``CallContext.attributes`` key: requests sent so far in this call."""
WITHHELD = "resilience.withheld"
"""``CallContext.attributes`` key: a StreamError event held back while a retry or a
fallback was still possible; the outermost layer re-delivers it before the error."""


def _failed(ctx: CallContext, target: TargetKey, error: BaseException) -> None:
    """Note a failed (or refused) attempt in ``CallStats.extra["failed_attempts"]``."""
    if isinstance(error, AiLibError):
        ctx.stats.extra.setdefault("failed_attempts", []).append(
            {"target": target.name, "code": error.code, "error": type(error).__name__})


class GatedHandler:
    """One target behind the gate: admit, send through ``inner``, settle.

    For streams, a StreamError event that arrives before anything was delivered is
    held back (the error that follows may still be retried or fall back).
    """

    def __init__(self, inner: ChatHandler, target: TargetKey, gate: PreflightChecker) -> None:
        self._inner = inner
        self.target = target
        self._gate = gate

    def _begin(self, ctx: CallContext, admission: Admission) -> None:
        sent = int(ctx.attributes.get(SENT, 0)) + 1
        ctx.attributes[SENT] = sent
        ctx.stats.attempts = sent
        ctx.response_factory = None
        ctx.attributes.pop(RESPONSE_HEADERS, None)
        if admission.rate_wait_s:
            extra = ctx.stats.extra
            extra["rate_limit_wait_s"] = extra.get("rate_limit_wait_s", 0.0) + (
                admission.rate_wait_s)

    async def _end(self, ctx: CallContext, admission: Admission, error: BaseException | None,
                   answered: bool, response: ChatResponse | None = None) -> None:
        headers = ctx.attributes.get(RESPONSE_HEADERS)
        if headers is None and isinstance(error, ProviderError):
            headers = error.headers
        tokens = 0
        if self._gate.wants_usage:
            if response is None and ctx.response_factory is not None and answered:
                response = ctx.response_factory()
            if response is not None and response.usage is not None:
                tokens = response.usage.total_tokens
        if error is not None:
            _failed(ctx, self.target, error)
        phase = await self._gate.settle(admission, error, answered=answered, headers=headers,
                                        tokens=tokens)
        if phase is not None:
            ctx.stats.extra["breaker"] = phase

    async def _admit(self, ctx: CallContext) -> Admission:
        try:
            admission = await self._gate.admit(self.target)
        except AiLibError as exc:
            _failed(ctx, self.target, exc)
            raise
        self._begin(ctx, admission)
        return admission

    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        admission = await self._admit(ctx)
        response: ChatResponse | None = None
        error: BaseException | None = None
        try:
            response = await self._inner.execute(request, ctx)
            return response
        except BaseException as exc:
            error = exc
            raise
        finally:
            await self._end(ctx, admission, error, response is not None, response)

    async def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[EventBatch]:
        admission = await self._admit(ctx)
        error: BaseException | None = None
        delivered = 0
        withheld: StreamEvent | None = None
        try:
            async with aclosing_stream(self._inner.stream(request, ctx)) as events:
                async for batch in events:
                    # An in-stream error as the very first event is held back: if the
                    # attempt then fails, retry or fallback may still take over.
                    if (not delivered and withheld is None and type(batch[0]) is StreamError
                            and not ctx.events_yielded):
                        withheld = batch[0]
                        del batch[0]
                        if not batch:
                            continue
                    if withheld is not None:
                        batch.insert(0, withheld)
                        withheld = None
                    delivered += len(batch)
                    yield batch
            if withheld is not None:
                delivered += 1
                yield [withheld]
        except BaseException as exc:
            error = exc
            if withheld is not None and isinstance(exc, AiLibError):
                ctx.attributes[WITHHELD] = withheld
            raise
        finally:
            await self._end(ctx, admission, error, delivered > 0)

    async def aclose(self) -> None:
        await self._inner.aclose()


__all__ = [
    "SENT",
    "WITHHELD",
    "Admission",
    "GatedHandler",
    "PreflightChecker",
    "TargetKey",
    "aclosing_stream",
]
