"""RetryHandler: retries one target's attempts under a RetryPolicy.

A failed attempt is retried when the policy says so (a retryable standard code,
retries left, a server-requested wait within the cap), after the policy's delay,
slept through the injected ``sleep``. Refusals of the preflight gate
(ResilienceError: breaker open, limiter, state backend) are never retried here:
the gate already decided, and a fallback may still take over. A stream is retried
only while nothing has reached the caller (``CallContext.events_yielded == 0`` and
no event passed through this layer); after the first event its errors surface.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ai_lib_python.client._context import CallContext, ChatHandler, EventBatch
from ai_lib_python.errors import AiLibError, ResilienceError
from ai_lib_python.resilience._config import Rand, Sleep, default_rand, default_sleep
from ai_lib_python.resilience._preflight import WITHHELD, aclosing_stream
from ai_lib_python.resilience._retry_policy import RetryPolicy
from ai_lib_python.types import ChatRequest, ChatResponse


class RetryHandler:
    """Wraps one target's handler with retries."""

    def __init__(self, inner: ChatHandler, policy: RetryPolicy, *,
                 sleep: Sleep = default_sleep, rand: Rand = default_rand) -> None:
        self._inner = inner
        self.policy = policy
        self._sleep = sleep
        self._rand = rand

    def _delay(self, error: AiLibError, attempt: int) -> float | None:
        if isinstance(error, ResilienceError):
            return None
        return self.policy.next_delay(error, attempt, rand=self._rand)

    async def _wait(self, delay: float, ctx: CallContext) -> None:
        ctx.stats.retry_waits_s.append(delay)
        if ctx.cancel is not None:
            ctx.cancel.raise_if_cancelled()
        await self._sleep(delay)
        if ctx.cancel is not None:
            ctx.cancel.raise_if_cancelled()

    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        attempt = 1
        while True:
            try:
                return await self._inner.execute(request, ctx)
            except AiLibError as error:
                delay = self._delay(error, attempt)
                if delay is None:
                    raise
            await self._wait(delay, ctx)
            attempt += 1

    async def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[EventBatch]:
        attempt = 1
        while True:
            delivered = False
            try:
                async with aclosing_stream(self._inner.stream(request, ctx)) as events:
                    async for batch in events:
                        delivered = True
                        yield batch
                return
            except AiLibError as error:
                if delivered or ctx.events_yielded:
                    raise
                delay = self._delay(error, attempt)
                if delay is None:
                    raise
            ctx.attributes.pop(WITHHELD, None)
            await self._wait(delay, ctx)
            attempt += 1

    async def aclose(self) -> None:
        await self._inner.aclose()


__all__ = ["RetryHandler"]
