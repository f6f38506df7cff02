"""One benchmark workload in this (fresh) process; prints one JSON line.

    python benchmarks/workloads.py {ours|raw} WORKLOAD --port P [--n N] [--telemetry MODE]

``--telemetry`` (the project only): ``full`` (metrics and tracing, as in production),
``metrics``, ``tracing``, or ``span``: no telemetry layer, and the caller wraps every
call in one bare OpenTelemetry span on the same SDK setup (the cost of any span per
call, whoever makes it).

Every workload verifies its output (exact text, counts) and fails loudly otherwise,
so no number can come from skipped work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from server import NONSTREAM_TEXT, expected_text, openai_stream

MODELS = {"openai": "openai/m", "anthropic": "anthropic/m", "gemini": "gemini/m"}
PREFIX = {"openai": "/v1", "anthropic": "/v1", "gemini": "/v1beta"}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"verification failed: {what}")


# -- ours ------------------------------------------------------------------------
TELEMETRY: dict[str, Any] = {}


async def ours_client(port: int, fmt: str, telemetry: str = "") -> Any:
    import httpx

    from ai_lib_python import AiClient

    layers: list[Any] = []
    if telemetry:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        from ai_lib_python.telemetry import MetricsCollector, Telemetry, Tracer

        class CountingExporter(SpanExporter):
            """Counts the spans it is sent and lets them go, as an exporter that ships
            them elsewhere does (keeping them all in memory would not be production)."""

            def __init__(self) -> None:
                self.spans = 0

            def export(self, spans: Any) -> SpanExportResult:
                self.spans += len(spans)
                return SpanExportResult.SUCCESS

        # Spans are batched to an exporter, as in production.
        provider = TracerProvider()
        exporter = CountingExporter()
        provider.add_span_processor(BatchSpanProcessor(exporter))
        TELEMETRY.update(mode=telemetry, provider=provider, exporter=exporter)
        metrics = MetricsCollector() if telemetry in ("full", "metrics") else None
        tracer = Tracer(provider) if telemetry in ("full", "tracing") else None
        if metrics is not None or tracer is not None:
            TELEMETRY["metrics"] = metrics
            layers.append(Telemetry(metrics=metrics, tracer=tracer))
        if telemetry == "span":
            TELEMETRY["tracer"] = provider.get_tracer("bench")
    return await AiClient.create(MODELS[fmt], base_url=f"http://127.0.0.1:{port}{PREFIX[fmt]}",
                                 api_key="bench-key", layers=layers,
                                 limits=httpx.Limits(max_connections=512,
                                                     max_keepalive_connections=512))


def check_telemetry(calls: int) -> None:
    """With telemetry on, every call made was traced and counted (as the mode says)."""
    if not TELEMETRY:
        return
    mode = TELEMETRY["mode"]
    TELEMETRY["provider"].force_flush()
    spans = TELEMETRY["exporter"].spans
    check(spans == (0 if mode == "metrics" else calls),
          f"telemetry: {spans} spans exported for {calls} calls ({mode})")
    if TELEMETRY.get("metrics") is not None:
        counted = sum(s.value for m in TELEMETRY["metrics"].requests.collect()
                      for s in m.samples if s.name.endswith("_total"))
        check(counted == calls, f"telemetry: {counted} calls counted for {calls} calls")


async def ours_call(client: Any) -> Any:
    """One non-streamed call; in ``span`` mode inside one bare span made current."""
    tracer = TELEMETRY.get("tracer")
    if tracer is None:
        return await client.chat().user("go").execute()
    from opentelemetry import context, trace

    span = tracer.start_span("chat m", kind=trace.SpanKind.CLIENT)
    token = context.attach(trace.set_span_in_context(span))
    try:
        return await client.chat().user("go").execute()
    finally:
        context.detach(token)
        span.end()


async def ours_stream(client: Any, n: int) -> str:
    from ai_lib_python import PartialContentDelta

    parts: list[str] = []
    async with client.chat().user("go").header("x-bench-deltas", str(n)).stream() as s:
        async for ev in s:
            if type(ev) is PartialContentDelta:
                parts.append(ev.content)
    return "".join(parts)


# -- raw httpx -------------------------------------------------------------------
def raw_body(fmt: str, stream: bool) -> tuple[str, dict[str, Any]]:
    msgs = [{"role": "user", "content": "go"}]
    if fmt == "openai":
        return "/v1/chat/completions", {"model": "m", "messages": msgs, "stream": stream}
    if fmt == "anthropic":
        return "/v1/messages", {"model": "m", "max_tokens": 4096, "messages": msgs,
                                "stream": stream}
    return "/v1beta/models/m:streamGenerateContent?alt=sse", {
        "contents": [{"role": "user", "parts": [{"text": "go"}]}]}


async def raw_stream(client: Any, port: int, fmt: str, n: int) -> str:
    path, body = raw_body(fmt, True)
    parts: list[str] = []
    async with client.stream("POST", f"http://127.0.0.1:{port}{path}", json=body,
                             headers={"authorization": "Bearer bench-key",
                                      "x-bench-deltas": str(n)}) as resp:
        async for line in resp.aiter_lines():
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                break
            obj = json.loads(data)
            if fmt == "openai":
                choices = obj.get("choices")
                if choices:
                    text = choices[0]["delta"].get("content")
                    if text:
                        parts.append(text)
            elif fmt == "anthropic":
                if obj.get("type") == "content_block_delta":
                    parts.append(obj["delta"]["text"])
            else:
                for part in obj["candidates"][0]["content"]["parts"]:
                    if "text" in part:
                        parts.append(part["text"])
    return "".join(parts)


def raw_client() -> Any:
    import httpx

    return httpx.AsyncClient(limits=httpx.Limits(max_connections=512,
                                                 max_keepalive_connections=512), timeout=60)


# -- workloads -------------------------------------------------------------------
async def seq(impl: str, port: int, n: int, telemetry: str) -> dict[str, Any]:
    if impl == "ours":
        client = await ours_client(port, "openai", telemetry)
        for _ in range(20):
            await ours_call(client)
        t0 = time.perf_counter()
        for _ in range(n):
            resp = await ours_call(client)
            check(resp.content == NONSTREAM_TEXT, "seq content")
        dt = time.perf_counter() - t0
        await client.close()
        check_telemetry(20 + n)
    else:
        client = raw_client()
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        body = {"model": "m", "messages": [{"role": "user", "content": "go"}]}
        headers = {"authorization": "Bearer bench-key"}
        for _ in range(20):
            await client.post(url, json=body, headers=headers)
        t0 = time.perf_counter()
        for _ in range(n):
            r = await client.post(url, json=body, headers=headers)
            check(r.json()["choices"][0]["message"]["content"] == NONSTREAM_TEXT, "seq")
        dt = time.perf_counter() - t0
        await client.aclose()
    return {"per_call_us": dt / n * 1e6, "calls": n}


async def stream(impl: str, port: int, fmt: str, n: int, telemetry: str) -> dict[str, Any]:
    expected = expected_text(n)
    if impl == "ours":
        client = await ours_client(port, fmt, telemetry)
        await ours_stream(client, 10)
        times = []
        for _ in range(2):  # the first stream of the process, then the same again (warm)
            t0 = time.perf_counter()
            text = await ours_stream(client, n)
            times.append(time.perf_counter() - t0)
            check(text == expected, f"{fmt} stream text")
        await client.close()
        check_telemetry(3)
    else:
        client = raw_client()
        await raw_stream(client, port, fmt, 10)
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            text = await raw_stream(client, port, fmt, n)
            times.append(time.perf_counter() - t0)
            check(text == expected, f"{fmt} stream text")
        await client.aclose()
    return {"deltas_per_s": n / times[0], "warm_deltas_per_s": n / times[1],
            "seconds": times[0]}


async def concurrent(impl: str, port: int, streams: int, n: int) -> dict[str, Any]:
    expected = expected_text(n)
    if impl == "ours":
        client = await ours_client(port, "openai")
        await ours_stream(client, 10)
        t0 = time.perf_counter()
        texts = await asyncio.gather(*(ours_stream(client, n) for _ in range(streams)))
        dt = time.perf_counter() - t0
        await client.close()
    else:
        client = raw_client()
        await raw_stream(client, port, "openai", 10)
        t0 = time.perf_counter()
        texts = await asyncio.gather(*(raw_stream(client, port, "openai", n)
                                       for _ in range(streams)))
        dt = time.perf_counter() - t0
        await client.aclose()
    check(all(t == expected for t in texts) and len(texts) == streams, "concurrent texts")
    return {"wall_s": dt, "rss_peak_mb": rss_mb()}


def pipeline(impl: str, n: int) -> dict[str, Any]:
    data = openai_stream(n)
    pieces = [data[i:i + 16384] for i in range(0, len(data), 16384)]
    expected = expected_text(n)
    t0 = time.perf_counter()
    parts: list[str] = []
    if impl == "ours":
        from ai_lib_python.client import default_loader
        from ai_lib_python.pipeline import StreamPlan
        from ai_lib_python.types import PartialContentDelta

        plan = StreamPlan.for_manifest(default_loader().load_provider_sync("openai"))
        t0 = time.perf_counter()
        state = plan.new_stream()
        events = 0
        for piece in pieces:
            for ev in state.feed(piece):
                events += 1
                if type(ev) is PartialContentDelta:
                    parts.append(ev.content)
        events += len(state.finish())
    else:
        buf = ""
        events = 0
        for piece in pieces:
            buf += piece.decode()
            lines = buf.split("\n")
            buf = lines.pop()
            for line in lines:
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                obj = json.loads(line[6:])
                events += 1
                ch = obj.get("choices")
                if ch and ch[0]["delta"].get("content"):
                    parts.append(ch[0]["delta"]["content"])
    dt = time.perf_counter() - t0
    check("".join(parts) == expected, "pipeline text")
    return {"events_per_s": n / dt, "events": events}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("impl", choices=["ours", "raw"])
    p.add_argument("workload")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--streams", type=int, default=256)
    p.add_argument("--telemetry", choices=["full", "metrics", "tracing", "span"], default="")
    a = p.parse_args()
    w = a.workload
    if a.telemetry == "span" and w != "seq":
        raise SystemExit("--telemetry=span wraps non-streamed calls: seq only")
    if w == "seq":
        out = asyncio.run(seq(a.impl, a.port, a.n, a.telemetry))
    elif w.startswith("stream-"):
        out = asyncio.run(stream(a.impl, a.port, w.split("-", 1)[1], a.n, a.telemetry))
    elif w == "concurrent":
        out = asyncio.run(concurrent(a.impl, a.port, a.streams, a.n))
    elif w == "pipeline":
        out = pipeline(a.impl, a.n)
    else:
        raise SystemExit(f"unknown workload {w}")
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
