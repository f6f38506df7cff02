"""Telemetry: Prometheus metrics and one JSON log line per call.

``Telemetry`` records every call of a client, streamed or not, into a
``MetricsCollector`` (served at ``/metrics`` for Prometheus to scrape) and a
``CallLogger``. Needs the ``telemetry`` extra: ``pip install 'ai-lib-python[telemetry]'``.

    python examples/telemetry_prometheus.py
"""

from __future__ import annotations

import asyncio
import logging
import sys
import urllib.request

from _offline import Offline

from ai_lib_python import ProviderError
from ai_lib_python.telemetry import (
    LOGGER_NAME,
    CallLogger,
    JsonFormatter,
    MetricsCollector,
    Telemetry,
    serve_metrics,
)
from ai_lib_python.testing import Fault, Reply

MODEL = "openai/gpt-4o-mini"


def scrape(url: str) -> str:
    with urllib.request.urlopen(url) as page:
        body: bytes = page.read()
    return body.decode()


async def main() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logging.getLogger(LOGGER_NAME).addHandler(handler)
    logging.getLogger(LOGGER_NAME).setLevel(logging.INFO)

    metrics = MetricsCollector()
    telemetry = Telemetry(metrics=metrics, logger=CallLogger())
    with Offline(MODEL) as env, serve_metrics(metrics, port=0) as server:
        env.script(Reply(text="Fine, thanks.", usage=(9, 4)),
                   Reply(text="Streaming works too.", usage=(9, 5)),
                   Fault.status(400, message="This model does not support that parameter."))
        async with await env.builder(MODEL).with_telemetry(telemetry).build() as client:
            await client.chat().user("How are you?").execute()
            async with client.chat().user("And streamed?").stream() as stream:
                async for _ in stream:
                    pass
            try:
                await client.chat().user("Something invalid").execute()
            except ProviderError as exc:
                print(f"third call failed as scripted: {type(exc).__name__}")

        text = await asyncio.to_thread(scrape, server.url)  # what Prometheus reads
    print(f"scraped {server.url}:")
    for line in text.splitlines():
        if line.startswith(("ai_lib_requests_total", "ai_lib_tokens_total")):
            print(" ", line)


if __name__ == "__main__":
    asyncio.run(main())
