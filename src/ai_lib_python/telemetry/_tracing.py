"""OpenTelemetry spans for chat calls, following the GenAI semantic conventions.

One ``CLIENT`` span per call, named ``chat {model}``, with:

* ``gen_ai.operation.name`` = ``chat``; ``gen_ai.provider.name`` and (older
  conventions) ``gen_ai.system``; ``gen_ai.request.model``, ``.temperature``,
  ``.max_tokens``, ``.top_p``;
* ``gen_ai.response.model``, ``gen_ai.response.id``, ``gen_ai.response.finish_reasons``,
  ``gen_ai.usage.input_tokens`` / ``output_tokens``;
* ``error.type`` (the standard error name, e.g. ``overloaded``) and an ERROR status;
* ``ai_lib.*``: attempts, answering target, first choice, route, time to first token,
  provider request id, estimated cost;
* one ``ai_lib.attempt`` event per attempt the executor reported (when the call took
  more than one attempt or failed), and an ``ai_lib.first_token`` event for streams.

Prompt and response content are recorded only with ``capture_content=True``
(``gen_ai.input.messages`` / ``gen_ai.output.messages``). Credentials never are: the
span only sees the provider-neutral request and the call's statistics. With
``propagate=True`` the W3C ``traceparent`` (and ``tracestate``) of the span is added
to the outgoing request headers.

Needs ``opentelemetry-api`` (``pip install ai-lib-python[telemetry]``); pass a
``TracerProvider`` or the global one is used.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ai_lib_python._version import __version__
from ai_lib_python.telemetry._optional import require
from ai_lib_python.telemetry._record import CANCELLED, ERROR, CallRecord
from ai_lib_python.types import ChatRequest, ChatResponse, Message


def _messages_json(messages: tuple[Message, ...] | list[Message]) -> str:
    return json.dumps([{"role": m.role, "content": m.text} for m in messages],
                      ensure_ascii=False)


class SpanHandle:
    """A started span and the clocks needed to place events on it."""

    __slots__ = ("context", "provider", "span", "start_mono", "start_ns")

    def __init__(self, span: Any, context: Any, provider: str = "",
                 start_ns: int | None = None, start_mono: float | None = None) -> None:
        self.span = span
        self.context = context
        self.provider = provider
        self.start_ns = time.time_ns() if start_ns is None else start_ns
        self.start_mono = time.monotonic() if start_mono is None else start_mono


class Tracer:
    """Creates the spans of chat calls (see the module doc)."""

    def __init__(self, tracer_provider: Any = None, *, capture_content: bool = False,
                 propagate: bool = False, name: str = "ai_lib_python") -> None:
        trace = require("opentelemetry.trace", "Tracer")
        self._trace = trace
        context = require("opentelemetry.context", "Tracer")
        self._attach = context.attach
        self._detach = context.detach
        self._status = trace.Status
        self._status_code = trace.StatusCode
        self._kind = trace.SpanKind.CLIENT
        provider = tracer_provider if tracer_provider is not None else (
            trace.get_tracer_provider())
        self._tracer = provider.get_tracer(name, __version__)
        self.capture_content = capture_content
        self.propagate = propagate
        self._propagator: Any = None
        if propagate:
            tc = require("opentelemetry.trace.propagation.tracecontext", "Tracer(propagate=True)")
            self._propagator = tc.TraceContextTextMapPropagator()

    def start(self, request: ChatRequest, provider: str, started_mono: float) -> SpanHandle:
        """Start the span of a call (a child of the current span, if any)."""
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.system": provider,
            "gen_ai.request.model": request.model,
        }
        if request.temperature is not None:
            attrs["gen_ai.request.temperature"] = request.temperature
        if request.max_tokens is not None:
            attrs["gen_ai.request.max_tokens"] = request.max_tokens
        if request.top_p is not None:
            attrs["gen_ai.request.top_p"] = request.top_p
        if self.capture_content:
            attrs["gen_ai.input.messages"] = _messages_json(request.messages)
        # Back-date the start to when the call began (the client's clock), so the span
        # covers what the caller waited for.
        start_ns = time.time_ns() - int((time.monotonic() - started_mono) * 1e9)
        span = self._tracer.start_span(f"chat {request.model}", kind=self._kind,
                                       attributes=attrs, start_time=start_ns)
        return SpanHandle(span, self._trace.set_span_in_context(span), provider, start_ns,
                          started_mono)

    def inject(self, request: ChatRequest, handle: SpanHandle) -> ChatRequest:
        """``request`` with the span's W3C trace context in its headers."""
        if self._propagator is None:
            return request
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier, context=handle.context)
        if not carrier:
            return request
        return request.with_(headers={**(request.headers or {}), **carrier})

    def attach(self, handle: SpanHandle) -> Any:
        """Make the span current (for non-streamed calls) and return the token for
        :meth:`detach` (what ``use_span`` does, without a generator per call)."""
        return self._attach(handle.context)

    def detach(self, token: Any) -> None:
        """Restore the context that was current before :meth:`attach`."""
        self._detach(token)

    def finish(self, handle: SpanHandle, rec: CallRecord) -> None:
        """Set the outcome attributes and events, then end the span."""
        span = handle.span
        if not span.is_recording():  # sampled out: nothing would be kept
            span.end()
            return
        model = rec.model or rec.request_model or ""
        if model and model != rec.request_model:
            # A router or a fallback sent the call to another model than requested.
            span.update_name(f"chat {model}")
            span.set_attribute("gen_ai.request.model", model)
        attrs: dict[str, Any] = {
            "ai_lib.attempts": rec.attempts,
            "ai_lib.target": rec.target,
            "ai_lib.streamed": rec.mode == "stream",
            "ai_lib.outcome": rec.outcome,
        }
        if rec.provider and rec.provider != handle.provider:
            attrs["gen_ai.provider.name"] = attrs["gen_ai.system"] = rec.provider
        if rec.primary != rec.target:
            attrs["ai_lib.first_choice"] = rec.primary
        if rec.route:
            attrs["ai_lib.route"] = rec.route
        if rec.request_id:
            attrs["ai_lib.request_id"] = rec.request_id
        if rec.response_model:
            attrs["gen_ai.response.model"] = rec.response_model
        if rec.response_id:
            attrs["gen_ai.response.id"] = rec.response_id
        if rec.finish_reasons:
            attrs["gen_ai.response.finish_reasons"] = list(rec.finish_reasons)
        if rec.input_tokens is not None:
            attrs["gen_ai.usage.input_tokens"] = rec.input_tokens
        if rec.output_tokens is not None:
            attrs["gen_ai.usage.output_tokens"] = rec.output_tokens
        if rec.cost_usd is not None:
            attrs["ai_lib.cost_usd"] = rec.cost_usd
        if rec.ttft_s is not None:
            attrs["ai_lib.time_to_first_token_ms"] = rec.ttft_s * 1000.0
            span.add_event("ai_lib.first_token",
                           timestamp=handle.start_ns + int(rec.ttft_s * 1e9))
        if rec.status is not None:
            attrs["http.response.status_code"] = rec.status
        if self.capture_content and rec.response is not None:
            attrs["gen_ai.output.messages"] = _output_json(rec.response)
        span.set_attributes(attrs)
        # Attempt events when there is more than the one plain attempt to tell.
        log = rec.attempt_log if (len(rec.attempt_log) > 1 or rec.outcome != "success") else ()
        for att in log:
            ev: dict[str, Any] = {"ai_lib.attempt.number": att.number,
                                  "ai_lib.attempt.target": att.target,
                                  "ai_lib.attempt.outcome": att.outcome}
            if att.error_type:
                ev["error.type"] = att.error_type
            if att.error_code:
                ev["ai_lib.error.code"] = att.error_code
            if att.status is not None:
                ev["http.response.status_code"] = att.status
            if att.wait_s is not None:
                ev["ai_lib.attempt.wait_s"] = att.wait_s
            if att.latency_ms is not None:
                ev["ai_lib.attempt.latency_ms"] = att.latency_ms
            ts = (handle.start_ns + int(att.offset_ms * 1e6)
                  if att.offset_ms is not None else None)
            span.add_event("ai_lib.attempt", attributes=ev, timestamp=ts)
        if rec.outcome == ERROR:
            span.set_attribute("error.type", rec.error_type or "error")
            if rec.error_code:
                span.set_attribute("ai_lib.error.code", rec.error_code)
            span.set_status(self._status(self._status_code.ERROR, rec.error_message))
        elif rec.outcome == CANCELLED:
            span.set_attribute("error.type", "cancelled")
        end_ns = handle.start_ns + int(rec.latency_s * 1e9)
        span.end(end_time=max(end_ns, handle.start_ns))


def _output_json(response: ChatResponse) -> str:
    out = []
    for c in response.candidates:
        item: dict[str, Any] = {"role": "assistant", "content": c.message.text}
        if c.tool_calls:
            item["tool_calls"] = [{"name": t.name, "arguments": t.arguments}
                                  for t in c.tool_calls]
        if c.finish_reason:
            item["finish_reason"] = c.finish_reason
        out.append(item)
    return json.dumps(out, ensure_ascii=False, default=str)
