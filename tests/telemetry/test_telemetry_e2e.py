"""The telemetry layer end to end: metrics, spans and logs after a scripted mix of calls."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from opentelemetry.trace import StatusCode

from ai_lib_python import AiClient
from ai_lib_python.client._assemble import Target
from ai_lib_python.errors import AiLibError
from ai_lib_python.resilience import (
    ResilienceConfig,
    ResilientExecutor,
    RetrySettings,
)
from ai_lib_python.routing import Member, ModelArray
from ai_lib_python.telemetry import (
    CallLogger,
    MetricsCollector,
    Telemetry,
    Tracer,
    serve_metrics,
)
from ai_lib_python.testing import Fault, ProviderEmulator, Reply

from .conftest import KEY, Spans, samples, value

MODEL = "openai/gpt-4o-mini"
OA = {"provider": "openai", "model": "gpt-4o-mini"}


async def no_sleep(seconds: float) -> None:
    return None


def executor(**kw: Any) -> ResilientExecutor:
    return ResilientExecutor(ResilienceConfig(retry=RetrySettings(max_retries=1), **kw),
                             sleep=no_sleep)


async def run_mix(client: AiClient) -> list[str]:
    """3 execute and 3 stream calls: plain, retried once, failed."""
    outcomes = []
    for _ in range(3):
        try:
            await client.chat().user("hi").temperature(0.2).max_tokens(50).execute()
            outcomes.append("ok")
        except AiLibError as exc:
            outcomes.append(exc.code)
    for _ in range(3):
        try:
            async with client.chat().user("hi").stream() as stream:
                await stream.collect()
            outcomes.append("ok")
        except AiLibError as exc:
            outcomes.append(exc.code)
    return outcomes


def script(emu: ProviderEmulator) -> None:
    emu.enqueue(
        Reply(text="ok", usage=(10, 5)),                          # execute: success
        Fault.status(503), Reply(text="ok", usage=(10, 5)),       # execute: retried
        Fault.status(400, message=f"key {KEY} is not allowed"),   # execute: fails
        Reply(text="streamed", usage=(7, 3)),                     # stream: success
        Fault.status(429), Reply(text="again", usage=(7, 3)),     # stream: retried
        Fault.status(503), Fault.status(503),                     # stream: fails
    )


async def test_scripted_mix_is_counted_exactly(emu: ProviderEmulator, spans: Spans,
                                               logs: io.StringIO) -> None:
    metrics = MetricsCollector()
    telemetry = Telemetry(metrics=metrics, tracer=Tracer(spans.provider, propagate=True),
                          logger=CallLogger())
    script(emu)
    client = await AiClient.create(MODEL, api_key=KEY, base_url=emu.url_for("openai"),
                                   executor=executor(), layers=[telemetry])
    async with client:
        assert await run_mix(client) == ["ok", "ok", "E1001", "ok", "ok", "E3002"]

    # -- metrics --------------------------------------------------------------------
    text = metrics.generate_latest().decode()
    data = samples(text)
    req = "ai_lib_requests_total"
    assert value(data, req, **OA, mode="execute", outcome="success", error_code="none") == 2
    assert value(data, req, **OA, mode="execute", outcome="error", error_code="E1001") == 1
    assert value(data, req, **OA, mode="stream", outcome="success", error_code="none") == 2
    assert value(data, req, **OA, mode="stream", outcome="error", error_code="E3002") == 1
    assert sum(v for (n, _), v in data.items() if n == req) == 6
    dur = "ai_lib_request_duration_seconds_count"
    assert value(data, dur, **OA, mode="execute", outcome="success") == 2
    assert value(data, dur, **OA, mode="stream", outcome="error") == 1
    assert value(data, "ai_lib_time_to_first_token_seconds_count", **OA) == 2
    assert value(data, "ai_lib_tokens_total", **OA, direction="input") == 34
    assert value(data, "ai_lib_tokens_total", **OA, direction="output") == 16
    assert value(data, "ai_lib_cost_usd_total", **OA) == pytest.approx(
        34 * 0.15e-6 + 16 * 0.6e-6)
    assert value(data, "ai_lib_retries_total", **OA) == 3
    assert value(data, "ai_lib_in_flight_requests", mode="execute") == 0
    assert value(data, "ai_lib_in_flight_requests", mode="stream") == 0
    assert not [k for k in data if k[0] == "ai_lib_fallbacks_total"]

    # The same numbers over HTTP from the /metrics helper (loopback, free port).
    with serve_metrics(metrics, port=0) as server:
        async with httpx.AsyncClient() as http:
            got = await http.get(server.url, timeout=5.0)
    assert got.status_code == 200
    assert samples(got.text) == data

    # -- spans ------------------------------------------------------------------------
    finished = spans.exporter.get_finished_spans()
    assert len(finished) == 6
    assert {s.name for s in finished} == {"chat gpt-4o-mini"}
    for s in finished:
        a = s.attributes or {}
        assert a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.provider.name"] == a["gen_ai.system"] == "openai"
        assert a["gen_ai.request.model"] == "gpt-4o-mini"
    plain, retried, failed, s_plain, s_retried, s_failed = finished
    a = plain.attributes or {}
    assert a["gen_ai.request.temperature"] == 0.2 and a["gen_ai.request.max_tokens"] == 50
    assert a["gen_ai.response.model"] == "gpt-4o-mini"
    assert a["gen_ai.response.id"] == "chatcmpl-emu00000001"
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["gen_ai.usage.input_tokens"] == 10 and a["gen_ai.usage.output_tokens"] == 5
    assert a["ai_lib.attempts"] == 1 and "error.type" not in a
    assert plain.status.status_code == StatusCode.UNSET
    assert not plain.events  # one plain attempt: nothing more to tell
    events = [dict(e.attributes or {}) for e in retried.events]
    assert [(e["ai_lib.attempt.number"], e["ai_lib.attempt.outcome"]) for e in events] == [
        (1, "error"), (2, "success")]
    assert events[0]["error.type"] == "overloaded" and events[0]["ai_lib.error.code"] == "E3002"
    fa = failed.attributes or {}
    assert fa["error.type"] == "invalid_request" and fa["ai_lib.error.code"] == "E1001"
    assert failed.status.status_code == StatusCode.ERROR
    sa = s_plain.attributes or {}
    assert sa["ai_lib.streamed"] is True and sa["gen_ai.usage.output_tokens"] == 3
    assert sa["ai_lib.time_to_first_token_ms"] > 0
    assert [e.name for e in s_plain.events] == ["ai_lib.first_token"]
    assert [dict(e.attributes or {}).get("error.type") for e in s_retried.events
            if e.name == "ai_lib.attempt"] == ["rate_limited", None]
    assert (s_failed.attributes or {})["error.type"] == "overloaded"
    assert len([e for e in s_failed.events if e.name == "ai_lib.attempt"]) == 2
    assert s_failed.status.status_code == StatusCode.ERROR

    # W3C trace context went out with every request, retries included, one per span.
    sent = [r.headers["traceparent"] for r in emu.requests if r.method == "POST"]
    expected = [f"00-{s.context.trace_id:032x}-{s.context.span_id:016x}-"
                f"{s.context.trace_flags:02x}" for s in
                (plain, retried, retried, failed, s_plain, s_retried, s_retried,
                 s_failed, s_failed)]
    assert sent == expected

    # -- logs --------------------------------------------------------------------------
    records = [json.loads(line) for line in logs.getvalue().splitlines()]
    calls = [r for r in records if r.get("event") == "chat.call"]
    assert [(c["mode"], c["outcome"], c["attempt"]) for c in calls] == [
        ("execute", "success", 1), ("execute", "success", 2), ("execute", "error", 1),
        ("stream", "success", 1), ("stream", "success", 2), ("stream", "error", 2)]
    assert all(c["provider"] == "openai" and c["model"] == "gpt-4o-mini" for c in calls)
    assert [c["request_id"] for c in calls] == [
        "req_emu00000001", "req_emu00000003", "req_emu00000004", "req_emu00000005",
        "req_emu00000007", "req_emu00000009"]
    assert all(c["latency_ms"] > 0 for c in calls)
    assert calls[3]["ttft_ms"] > 0 and calls[2]["level"] == "WARNING"
    assert len([r for r in records if r.get("event") == "chat.attempt"]) == 5


async def test_no_key_in_logs_spans_or_metrics(emu: ProviderEmulator, spans: Spans,
                                               logs: io.StringIO) -> None:
    metrics = MetricsCollector()
    telemetry = Telemetry(metrics=metrics, tracer=Tracer(spans.provider, propagate=True),
                          logger=CallLogger())
    script(emu)
    async with await AiClient.create(MODEL, api_key=KEY, base_url=emu.url_for("openai"),
                                     executor=executor(), layers=[telemetry]) as client:
        await run_mix(client)
    assert all(r.headers.get("authorization") == f"Bearer {KEY}"
               for r in emu.requests if r.method == "POST")  # the key was really used
    dumped = [metrics.generate_latest().decode(), logs.getvalue()]
    for s in spans.exporter.get_finished_spans():
        dumped.append(s.to_json())
        dumped.append(s.status.description or "")
    text = "\n".join(dumped)
    assert "key *** is not allowed" in text  # the provider echoed it; it was masked
    assert KEY not in text
    assert KEY[8:] not in text


async def test_fallback_and_breaker_metrics(emu: ProviderEmulator, spans: Spans) -> None:
    metrics = MetricsCollector()
    telemetry = Telemetry(metrics=metrics, tracer=Tracer(spans.provider))
    array = ModelArray([
        Member(Target(MODEL, api_key=KEY, base_url=emu.url_for("openai")), quality=1),
        Member(Target("anthropic/claude-haiku-4-5", api_key=KEY,
                      base_url=emu.url_for("anthropic")))], strategy="quality")
    emu.enqueue(Fault.status(503), format="openai")
    client = await AiClient.builder().with_routing(array).with_retry(0).with_circuit_breaker(
        1, recovery_s=60).with_telemetry(telemetry).build()
    async with client:
        await client.chat().user("a").execute()   # openai 503 -> anthropic; breaker opens
        await client.chat().user("b").execute()   # anthropic first now
    data = samples(metrics.generate_latest().decode())
    assert value(data, "ai_lib_fallbacks_total", primary="openai/gpt-4o-mini",
                 target="anthropic/claude-haiku-4-5") == 1
    assert sum(v for (n, _), v in data.items() if n == "ai_lib_fallbacks_total") == 1
    assert value(data, "ai_lib_circuit_breaker_state", target="openai/gpt-4o-mini") == 2
    assert value(data, "ai_lib_circuit_breaker_state",
                 target="anthropic/claude-haiku-4-5") == 0
    assert value(data, "ai_lib_requests_total", provider="anthropic", model="claude-haiku-4-5",
                 mode="execute", outcome="success", error_code="none") == 2
    assert value(data, "ai_lib_retries_total", provider="anthropic",
                 model="claude-haiku-4-5") == 1
    fell_back, direct = spans.exporter.get_finished_spans()
    a = fell_back.attributes or {}
    assert fell_back.name == "chat claude-haiku-4-5"
    assert a["gen_ai.request.model"] == "claude-haiku-4-5"
    assert a["gen_ai.provider.name"] == "anthropic"
    assert a["ai_lib.first_choice"] == "openai/gpt-4o-mini"
    assert a["ai_lib.target"] == "anthropic/claude-haiku-4-5"
    assert [dict(e.attributes or {})["ai_lib.attempt.target"] for e in fell_back.events] == [
        "openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"]
    assert "ai_lib.first_choice" not in (direct.attributes or {})


async def test_stream_closed_early_is_recorded_once(emu: ProviderEmulator,
                                                    spans: Spans) -> None:
    metrics = MetricsCollector()
    telemetry = Telemetry(metrics=metrics, tracer=Tracer(spans.provider))
    emu.enqueue(Reply(text="a long answer " * 20, chunk_size=3))
    client = await AiClient.create(MODEL, api_key=KEY, base_url=emu.url_for("openai"),
                                   layers=[telemetry])
    async with client, client.chat().user("x").stream() as stream:
        async for _ in stream:
            break
    data = samples(metrics.generate_latest().decode())
    assert value(data, "ai_lib_requests_total", **OA, mode="stream", outcome="cancelled",
                 error_code="none") == 1
    assert value(data, "ai_lib_in_flight_requests", mode="stream") == 0
    (span,) = spans.exporter.get_finished_spans()
    assert (span.attributes or {})["ai_lib.outcome"] == "cancelled"
    assert "traceparent" not in emu.last_request.headers  # propagation is opt-in


async def test_span_is_a_child_and_content_is_opt_in(emu: ProviderEmulator,
                                                     spans: Spans) -> None:
    tracer = spans.provider.get_tracer("app")
    plain = Telemetry(tracer=Tracer(spans.provider))
    loud = Telemetry(tracer=Tracer(spans.provider, capture_content=True))
    for telemetry in (plain, loud):
        async with await AiClient.create(MODEL, api_key=KEY, base_url=emu.url_for("openai"),
                                         layers=[telemetry]) as client:
            with tracer.start_as_current_span("request handler") as parent:
                await client.chat().system("be brief").user("secret plan").execute()
            chat = next(s for s in spans.exporter.get_finished_spans()
                        if s.name.startswith("chat") and s.parent is not None
                        and s.parent.span_id == parent.get_span_context().span_id)
            assert chat.context.trace_id == parent.get_span_context().trace_id
    first, second = [s for s in spans.exporter.get_finished_spans() if s.name.startswith("chat")]
    assert "secret plan" not in first.to_json()
    a = second.attributes or {}
    assert json.loads(str(a["gen_ai.input.messages"])) == [
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "secret plan"}]
    assert json.loads(str(a["gen_ai.output.messages"]))[0]["content"] == "Echo: secret plan"


async def test_the_chat_span_is_current_inside_the_call_only(emu: ProviderEmulator,
                                                            spans: Spans) -> None:
    from opentelemetry import trace

    from ai_lib_python.client import CallContext, ChatHandler

    seen: list[Any] = []

    class Inside:  # a layer inside telemetry: sees what instrumentation below would see
        stage = 45

        def wrap(self, inner: ChatHandler) -> ChatHandler:
            class _H:
                async def execute(self, request: Any, ctx: CallContext) -> Any:
                    seen.append(trace.get_current_span())
                    return await inner.execute(request, ctx)

                def stream(self, request: Any, ctx: CallContext) -> Any:
                    return inner.stream(request, ctx)

                async def aclose(self) -> None:
                    await inner.aclose()

            return _H()

    app = spans.provider.get_tracer("app")
    async with await AiClient.create(MODEL, api_key=KEY, base_url=emu.url_for("openai"),
                                     layers=[Telemetry(tracer=Tracer(spans.provider)),
                                             Inside()]) as client:
        with app.start_as_current_span("handler") as parent:
            await client.chat().user("hi").execute()
            assert trace.get_current_span() is parent  # restored after the call
    chat = next(s for s in spans.exporter.get_finished_spans() if s.name.startswith("chat"))
    assert seen[0].get_span_context().span_id == chat.context.span_id


async def test_sampled_out_calls_work_and_export_nothing(emu: ProviderEmulator) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    metrics = MetricsCollector()
    async with await AiClient.create(MODEL, api_key=KEY, base_url=emu.url_for("openai"),
                                     layers=[Telemetry(metrics=metrics,
                                                       tracer=Tracer(provider))]) as client:
        resp = await client.chat().user("hi").execute()
        async with client.chat().user("hi").stream() as stream:
            await stream.collect()
    assert resp.content == "Echo: hi"
    assert exporter.get_finished_spans() == ()
    counted = samples(metrics.generate_latest().decode())
    assert sum(v for (name, labels), v in counted.items()
               if name == "ai_lib_requests_total") == 2  # metrics do not depend on sampling
