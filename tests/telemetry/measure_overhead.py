"""Overhead of the telemetry layer, measured in one run (not a test; run it by hand).

    .venv/bin/python tests/telemetry/measure_overhead.py [--reps 5]

The emulator runs in its own process; the client alternates telemetry off and on
(metrics only, and metrics + tracer + JSON logger; spans go through the SDK's
SimpleSpanProcessor to an exporter that drops them) over the same workloads:

* one streamed call of about 20,000 chunks (an 80,000-character echo, 4 per chunk);
* 2,000 sequential non-streamed calls.

It prints the client's CPU time (best and median of the runs) and the median wall
time per variant, with the difference to "off" per call and per chunk. On a small
machine the emulator shares the CPUs, so compare the best-of numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from ai_lib_python import AiClient
from ai_lib_python.telemetry import CallLogger, JsonFormatter, MetricsCollector, Telemetry, Tracer

KEY = "sk-overhead-0123456789"
CHARS = 80_000 - len("Echo: ")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_emulator(port: int) -> subprocess.Popen[bytes]:
    code = (f"from ai_lib_python.testing import serve; "
            f"serve(port={port}, require_key={KEY!r})")
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the emulator did not start")


def variants() -> dict[str, Callable[[], list[Any]]]:
    def metrics_only() -> list[Any]:
        return [Telemetry(metrics=MetricsCollector())]

    def full() -> list[Any]:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            SimpleSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        class Discard(SpanExporter):  # the SDK's whole cost, without keeping spans
            def export(self, spans: Any) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(Discard()))
        logger = logging.getLogger("overhead.calls")
        logger.handlers[:] = []
        handler = logging.StreamHandler(io.StringIO())
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        return [Telemetry(metrics=MetricsCollector(), tracer=Tracer(provider, propagate=True),
                          logger=CallLogger(logger))]

    return {"off": list, "metrics": metrics_only, "full": full}


async def workload(port: int, layers: list[Any], kind: str, calls: int) -> tuple[float, float]:
    client = await AiClient.create("openai/gpt-4o-mini", api_key=KEY,
                                   base_url=f"http://127.0.0.1:{port}/v1", layers=layers)
    async with client:
        await client.chat().user("warm up").execute()
        wall, cpu = time.perf_counter(), time.process_time()
        if kind == "stream":
            async with client.chat().user("x" * CHARS).stream() as stream:
                n = 0
                async for _ in stream:
                    n += 1
            assert len(stream.response.content) == CHARS + len("Echo: "), "short stream"
            assert n >= 20_000, n
        else:
            for _ in range(calls):
                resp = await client.chat().user("hi").execute()
                assert resp.content == "Echo: hi"
        return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    port = free_port()
    emu = start_emulator(port)
    try:
        makers = variants()
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.reps):
            for kind in ("stream", "calls"):
                for name, make in makers.items():
                    out = asyncio.run(workload(port, make(), kind, args.calls))
                    results.setdefault((kind, name), []).append(out)
    finally:
        emu.terminate()
        emu.wait(10)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.reps} runs per "
          f"variant, interleaved; client CPU time (best and median) and wall time (median)")
    for kind, unit, count in (("stream", "chunk", 20_000), ("calls", "call", args.calls)):
        base = results[(kind, "off")]
        base_best = min(c for _, c in base)
        base_med = statistics.median(c for _, c in base)
        for name in makers:
            runs = results[(kind, name)]
            best = min(c for _, c in runs)
            med = statistics.median(c for _, c in runs)
            wall = statistics.median(w for w, _ in runs)
            print(f"{kind:6} {name:8} cpu best {best * 1000:8.1f} ms "
                  f"({(best - base_best) / count * 1e6:+7.2f} us/{unit})  "
                  f"median {med * 1000:8.1f} ms ({(med - base_med) / count * 1e6:+7.2f} "
                  f"us/{unit})  wall {wall * 1000:8.1f} ms")

if __name__ == "__main__":
    main()
