"""The telemetry layer (stage 40): one wrapper that feeds metrics, traces and logs.

It wraps the executor (retry, fallback, routing) so that one record covers a whole
call however many attempts it took. For ``execute`` the record is made when the call
returns or raises; for ``stream`` when the stream ends, fails or is closed early.
Nothing runs per event: the stream is passed through, and the time to first token,
usage and attempts are read from ``CallStats`` and the assembled response at the end.
A failure inside a telemetry sink is logged and never fails the call.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, cast

from ai_lib_python.client._assemble import STAGE_TELEMETRY
from ai_lib_python.client._context import CallContext, ChatHandler, EventBatch
from ai_lib_python.telemetry._record import CallRecord, build_record
from ai_lib_python.types import ChatRequest, ChatResponse

if TYPE_CHECKING:
    from ai_lib_python.routing import ModelManager
    from ai_lib_python.telemetry._feedback import FeedbackCollector
    from ai_lib_python.telemetry._logging import CallLogger
    from ai_lib_python.telemetry._metrics import MetricsCollector
    from ai_lib_python.telemetry._tracing import SpanHandle, Tracer

log = logging.getLogger("ai_lib_python.telemetry")


class Telemetry:
    """A Layer recording every call into the given sinks (any of them may be None).

    >>> telemetry = Telemetry(metrics=MetricsCollector(), tracer=Tracer(provider),
    ...                       logger=CallLogger())                     # doctest: +SKIP
    >>> client = await AiClient.builder().model("openai/gpt-5.4").with_telemetry(
    ...     telemetry).build()                                          # doctest: +SKIP

    ``models`` prices the calls (default: the shipped model registry).
    """

    stage = STAGE_TELEMETRY

    def __init__(self, *, metrics: MetricsCollector | None = None,
                 tracer: Tracer | None = None, logger: CallLogger | None = None,
                 models: ModelManager | None = None,
                 feedback: FeedbackCollector | None = None) -> None:
        self.metrics = metrics
        self.tracer = tracer
        self.logger = logger
        self.feedback = feedback
        self._models = models

    @property
    def models(self) -> ModelManager:
        if self._models is None:
            from ai_lib_python.routing import default_models

            self._models = default_models()
        return self._models

    def wrap(self, inner: ChatHandler) -> ChatHandler:
        if self.metrics is None and self.tracer is None and self.logger is None:
            return inner
        return _TelemetryHandler(inner, self)

    # -- the one place a finished call is recorded --------------------------------
    def record(self, rec: CallRecord, request: ChatRequest,
               span: SpanHandle | None) -> None:
        if rec.cost_usd is None and rec.response is not None and rec.provider:
            # Priced once: a CostMeter layer may already have put it in the stats.
            spec = self.models.get(f"{rec.provider}/{rec.model}")
            if spec is not None:
                rec.cost_usd = spec.usage_cost(rec.response.usage)
        for name, sink in (("metrics", self._metrics_sink), ("tracer", self._trace_sink),
                           ("logger", self._log_sink)):
            try:
                sink(rec, request, span)
            except Exception:
                log.exception("telemetry %s failed to record a call", name)

    def _metrics_sink(self, rec: CallRecord, request: ChatRequest,
                      span: SpanHandle | None) -> None:
        if self.metrics is not None:
            self.metrics.call_finished(rec)

    def _trace_sink(self, rec: CallRecord, request: ChatRequest,
                    span: SpanHandle | None) -> None:
        if self.tracer is not None and span is not None:
            self.tracer.finish(span, rec)

    def _log_sink(self, rec: CallRecord, request: ChatRequest,
                  span: SpanHandle | None) -> None:
        if self.logger is not None:
            self.logger.log_call(rec, request.messages)


class _TelemetryHandler:
    """The wrapper one client's path gets from :meth:`Telemetry.wrap`."""

    __slots__ = ("_inner", "_t")

    def __init__(self, inner: ChatHandler, telemetry: Telemetry) -> None:
        self._inner = inner
        self._t = telemetry

    def _begin(self, request: ChatRequest, ctx: CallContext,
               mode: str) -> tuple[ChatRequest, SpanHandle | None, str]:
        t = self._t
        stats = ctx.stats
        start_target = stats.target or f"{stats.provider}/{stats.model}"
        span = None
        if t.tracer is not None:
            try:
                span = t.tracer.start(request, stats.provider, ctx.started)
                request = t.tracer.inject(request, span)
            except Exception:
                log.exception("telemetry tracer failed to start a span")
                span = None
        if t.metrics is not None:
            t.metrics.call_started(mode)
        return request, span, start_target

    def _end(self, request: ChatRequest, ctx: CallContext, mode: str, start_target: str,
             span: SpanHandle | None, response: ChatResponse | None,
             error: BaseException | None, cancelled: bool) -> None:
        try:
            rec = build_record(
                stats=ctx.stats, request=request, mode=mode,
                latency_s=time.monotonic() - ctx.started, start_target=start_target,
                response=response, error=error, cancelled=cancelled)
        except Exception:
            log.exception("telemetry failed to read a finished call")
            if self._t.metrics is not None:
                self._t.metrics.call_dropped(mode)
            return
        self._t.record(rec, request, span)

    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        request, span, start = self._begin(request, ctx, "execute")
        try:
            tracer = self._t.tracer
            if span is not None and tracer is not None:
                token = tracer.attach(span)
                try:
                    response = await self._inner.execute(request, ctx)
                finally:
                    tracer.detach(token)
            else:
                response = await self._inner.execute(request, ctx)
        except BaseException as exc:
            self._end(request, ctx, "execute", start, span, None, exc, False)
            raise
        self._end(request, ctx, "execute", start, span, response, None, False)
        return response

    async def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[EventBatch]:
        request, span, start = self._begin(request, ctx, "stream")
        error: BaseException | None = None
        finished = False
        try:
            events = cast("AsyncGenerator[EventBatch, None]", self._inner.stream(request, ctx))
            async with contextlib.aclosing(events):
                async for batch in events:
                    yield batch
            finished = True
        except GeneratorExit:
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            response = None
            factory = ctx.response_factory
            if factory is not None and error is None:
                try:
                    response = factory()
                except Exception:
                    response = None
            self._end(request, ctx, "stream", start, span, response, error,
                      cancelled=not finished and error is None)

    async def aclose(self) -> None:
        await self._inner.aclose()
