"""RoutingExecutor: the router orders the targets of each call; resilience does the rest.

There is one fallback implementation in the library, the resilience layer's
``FallbackHandler`` (inside ``ResilientExecutor``): it tries targets in order and
moves on on a fallbackable error (for a stream, only before the first event reached
the caller). Routing only decides the order, per call. The routed handler asks the
:class:`ModelArray` for the order and sends the call through the client's one
resilience chain with that order set for the call (``FallbackHandler``'s ``ORDER``),
so breakers, rate limits, backpressure and retry policies are shared by every order.
After the call it feeds the array what the call taught: outcome
and latency of the member that answered (whole call for ``execute``, time to first
token for streams, only when no retry or fallback blurred it), failed members, and
their circuit breaker state (from ``CallStats.extra`` and the executor's breakers).

Targets beyond the array's members (``fallbacks=`` given to the client as well)
come after the routed ones, in their given order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, cast

from ai_lib_python.client._context import CallContext, ChatHandler, EventBatch
from ai_lib_python.errors import CancelledError
from ai_lib_python.resilience._fallback import ORDER
from ai_lib_python.routing._array import ModelArray
from ai_lib_python.types import ChatRequest, ChatResponse

if TYPE_CHECKING:
    from ai_lib_python.client._endpoint import Endpoint
    from ai_lib_python.resilience import ResilientExecutor
    from ai_lib_python.telemetry import HealthChecker

log = logging.getLogger("ai_lib_python.routing")

class RoutingExecutor:
    """An Executor routing each call over a :class:`ModelArray`.

    ``resilience`` is the per-target policy (retry, breaker, rate limit, fallback
    mechanics); a default ``ResilientExecutor()`` when omitted. With
    ``health_interval_s`` each client built runs the manifests' availability checks
    that often (``sleep`` injected) and feeds the array (and the ``ai_lib_endpoint_up``
    gauge of ``health_metrics``, a MetricsCollector); the checks stop when the client
    closes. ``handlers`` lists the open clients' handlers.
    """

    def __init__(self, array: ModelArray, *, resilience: ResilientExecutor | None = None,
                 health_interval_s: float | None = None, health_metrics: Any = None,
                 sleep: Any = asyncio.sleep) -> None:
        self.array = array
        self.health_metrics = health_metrics
        if resilience is None:
            from ai_lib_python.resilience import ResilientExecutor

            resilience = ResilientExecutor()
        self.resilience = resilience
        self.health_interval_s = (health_interval_s if health_interval_s is not None
                                  else array.health_interval_s)
        self._sleep = sleep
        self.handlers: list[RoutedHandler] = []

    def build(self, targets: Sequence[Endpoint]) -> ChatHandler:
        if len(targets) < len(self.array):
            raise ValueError("a routed client needs one target per member of its array")
        handler = RoutedHandler(self, targets)
        self.handlers.append(handler)
        return handler

    async def check_health(self) -> list[Any]:
        """Run the availability checks of every client built, now."""
        out: list[Any] = []
        for handler in self.handlers:
            if handler.health is not None:
                out.extend(await handler.health.check())
        return out


class RoutedHandler:
    """One routed client's handler (see the module doc)."""

    def __init__(self, owner: RoutingExecutor, targets: Sequence[Endpoint]) -> None:
        self._owner = owner
        self.array = owner.array
        self._targets = tuple(targets)
        n = len(self.array)
        self._names = [m.name for m in self.array.members] + [t.name for t in targets[n:]]
        self._tail = tuple(range(n, len(targets)))
        self._chain: ChatHandler = owner.resilience.build(self._targets)
        self.health: HealthChecker | None = None
        if owner.health_interval_s:
            from ai_lib_python.telemetry import HealthChecker

            self.health = HealthChecker(targets[:n], array=self.array,
                                        interval_s=owner.health_interval_s, sleep=owner._sleep,
                                        metrics=owner.health_metrics)
            with contextlib.suppress(RuntimeError):  # no running loop: start on first call
                self.health.start()

    # -- choosing -----------------------------------------------------------------
    def _plan(self, request: ChatRequest, ctx: CallContext) -> tuple[int, ...]:
        if self.health is not None and not self.health.running:
            self.health.start()
        order = (*self.array.order(request), *self._tail)
        ctx.attributes[ORDER] = order
        ctx.stats.extra["routing"] = {
            "route": self.array.name, "first": self._names[order[0]],
            "order": [self._names[i] for i in order]}
        return order

    # -- learning -----------------------------------------------------------------
    def _learn(self, order: tuple[int, ...], ctx: CallContext, *, ok: bool,
               latency_ms: float | None) -> int:
        """Feed the array. Returns how many members of ``order`` the call went through
        when some of them failed or were passed over (a breaker refusing a member leaves
        no other trace), so their breakers get read; 0 when all went as planned."""
        stats = ctx.stats
        extra = stats.extra
        failed_raw = extra.get("failed_attempts")
        failed: list[tuple[int, str | None]] = []
        pos = 0
        if isinstance(failed_raw, list):
            for item in failed_raw:
                name = item.get("target") if isinstance(item, dict) else None
                while pos < len(order) and self._targets[order[pos]].name != name:
                    pos += 1
                if pos < len(order):
                    failed.append((order[pos], item.get("code")))
        # The member that answered (or was tried last): the first target from the last
        # failure on whose endpoint name matches the one that stamped the stats.
        last = order[0]
        start = min(pos, len(order) - 1) if failed else 0
        for i in order[start:]:
            if self._targets[i].name == stats.target:
                last = i
                break
        n = len(self.array)
        routing = extra.get("routing")
        if isinstance(routing, dict):
            routing["answered" if ok else "last"] = self._names[last]
        for i, code in failed:
            if i < n and not (ok and i == last):
                self.array.observe(i, ok=False, error=code)
        if last < n:
            if ok:
                clean = not failed and not stats.retry_waits_s
                self.array.observe(last, ok=True, latency_ms=latency_ms if clean else None)
            elif not any(i == last for i, _ in failed):
                self.array.observe(last, ok=False, error=None)
            phase = extra.get("breaker")
            if isinstance(phase, str) and phase in ("closed", "open", "half_open"):
                self.array.report_breaker(last, phase)
            elif ok and self.array.state(last).breaker != "closed":
                self.array.report_breaker(last, "closed")
        if failed or last != order[0] or not ok:
            return order.index(last) + 1
        return 0

    async def _breakers(self, order: tuple[int, ...], ctx: CallContext, tried: int) -> None:
        """After a failure: read the breaker of the routed members the call went through."""
        breaker = getattr(self._owner.resilience, "breaker", None)
        if breaker is None or not tried:
            return
        from ai_lib_python.resilience._executor import target_key

        states: dict[str, str] = {}
        now = time.time()
        n = len(self.array)
        for i in order[:tried]:
            if i >= n:
                continue
            try:
                st = await breaker.state(target_key(self._targets[i]).key)
            except Exception:  # a broken shared backend must not hide the call's error
                log.debug("breaker state unavailable", exc_info=True)
                return
            self.array.report_breaker(i, st.phase, max(st.open_until - now, 0.0))
            states[self._names[i]] = st.phase
        routing = ctx.stats.extra.get("routing")
        if isinstance(routing, dict) and states:
            routing["breakers"] = states

    # -- the handler interface ----------------------------------------------------
    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        order = self._plan(request, ctx)
        t0 = time.monotonic()
        try:
            response = await self._chain.execute(request, ctx)
        except BaseException as exc:
            if not _cancelled(exc):
                await self._breakers(order, ctx, self._learn(order, ctx, ok=False,
                                                             latency_ms=None))
            raise
        latency = (time.monotonic() - t0) * 1000.0
        await self._breakers(order, ctx, self._learn(order, ctx, ok=True, latency_ms=latency))
        return response

    async def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[EventBatch]:
        order = self._plan(request, ctx)
        t0 = time.monotonic()
        events = cast("AsyncGenerator[EventBatch, None]", self._chain.stream(request, ctx))
        try:
            async with contextlib.aclosing(events):
                async for batch in events:
                    yield batch
        except GeneratorExit:
            if ctx.events_yielded:  # closed early by the caller after an answer began
                self._learn(order, ctx, ok=True, latency_ms=self._ttft(ctx, t0))
            raise
        except BaseException as exc:
            if not _cancelled(exc):
                await self._breakers(order, ctx, self._learn(order, ctx, ok=False,
                                                             latency_ms=None))
            raise
        await self._breakers(order, ctx, self._learn(order, ctx, ok=True,
                                                     latency_ms=self._ttft(ctx, t0)))

    @staticmethod
    def _ttft(ctx: CallContext, t0: float) -> float | None:
        """Time to first token measured from when this handler started the call."""
        ttft = ctx.stats.time_to_first_token_ms
        return None if ttft is None else max(ttft - (t0 - ctx.started) * 1000.0, 0.0)

    async def aclose(self) -> None:
        if self in self._owner.handlers:
            self._owner.handlers.remove(self)
        if self.health is not None:
            await self.health.aclose()
        await self._chain.aclose()


def _cancelled(exc: BaseException) -> bool:
    """A cancellation by the caller says nothing about the members."""
    return isinstance(exc, (asyncio.CancelledError, CancelledError))
