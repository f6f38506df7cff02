"""HealthChecker, FeedbackCollector, the JSON log formatter and the optional extra."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ai_lib_python.client import build_endpoint
from ai_lib_python.errors import ConfigurationError, register_secret
from ai_lib_python.routing import ModelArray
from ai_lib_python.telemetry import (
    FeedbackCollector,
    HealthChecker,
    InMemoryFeedbackSink,
    JsonFormatter,
    JsonlFeedbackSink,
    MetricsCollector,
)
from ai_lib_python.testing import ProviderEmulator
from ai_lib_python.transport import HttpTransport
from ai_lib_python.types import CallStats, ChatResponse

from .conftest import KEY, samples, value


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


async def test_health_checks_on_demand_and_periodically(emu: ProviderEmulator) -> None:
    http = HttpTransport()
    up = await build_endpoint("openai/gpt-4o-mini", transport=http, api_key=KEY,
                              base_url=emu.url_for("openai"))
    down = await build_endpoint("anthropic/claude-haiku-4-5", transport=http, api_key=KEY,
                                base_url=dead_url())
    unchecked = await build_endpoint("perplexity/sonar", transport=http, api_key=KEY,
                                     base_url=emu.url_for("openai"))
    array = ModelArray(["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5", "perplexity/sonar"])
    metrics = MetricsCollector()
    seen = []
    slept: list[float] = []
    tick = asyncio.Event()

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        tick.set()
        await asyncio.sleep(0)

    checker = HealthChecker([up, down, unchecked], array=array, interval_s=15, sleep=sleep,
                            metrics=metrics, on_result=seen.append)
    results = await checker.check()
    assert [r.status for r in results] == ["healthy", "unhealthy", "unknown"]
    assert results[0].http_status in (200, 401) and results[0].latency_ms is not None
    assert "could not connect" in (results[1].detail or "")
    assert [r.target for r in seen] == ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"]
    assert array.order() == [0, 2, 1]
    assert emu.last_request.method == "GET" and emu.last_request.path == "/v1/models"
    assert "authorization" not in emu.last_request.headers  # probes carry no credential
    data = samples(metrics.generate_latest().decode())
    assert value(data, "ai_lib_endpoint_up", target="openai/gpt-4o-mini") == 1
    assert value(data, "ai_lib_endpoint_up", target="anthropic/claude-haiku-4-5") == 0

    checker.start()
    for _ in range(3):
        tick.clear()
        await asyncio.wait_for(tick.wait(), 5)
    assert checker.running and checker.rounds >= 4 and set(slept) == {15}
    await checker.aclose()
    assert not checker.running
    await checker.aclose()  # twice is fine
    await http.aclose()


async def test_feedback_sinks_and_metric(tmp_path: Path) -> None:
    metrics = MetricsCollector()
    memory = InMemoryFeedbackSink()
    jsonl = JsonlFeedbackSink(tmp_path / "fb" / "feedback.jsonl")
    fb = FeedbackCollector([memory, jsonl], metrics=metrics, clock=lambda: 1000.0)
    fb.record("req_1", rating=5, label="helpful", comment="great")
    fb.record("req_2", rating=2, label="wrong")
    response = ChatResponse([], stats=CallStats(request_id="req_3"))
    fb.record_for(response, label="helpful", metadata={"user": "u1"})
    assert [f.request_id for f in memory.items] == ["req_1", "req_2", "req_3"]
    assert memory.for_request("req_2")[0].rating == 2.0
    assert jsonl.read() == memory.items
    first = json.loads((tmp_path / "fb" / "feedback.jsonl").read_text().splitlines()[0])
    assert first == {"request_id": "req_1", "rating": 5.0, "label": "helpful",
                     "comment": "great", "timestamp": 1000.0, "metadata": {}}
    data = samples(metrics.generate_latest().decode())
    assert value(data, "ai_lib_feedback_total", label="helpful") == 2
    assert value(data, "ai_lib_feedback_total", label="wrong") == 1
    assert value(data, "ai_lib_feedback_rating_count") == 2
    assert value(data, "ai_lib_feedback_rating_sum") == 7
    with pytest.raises(ConfigurationError):
        fb.record("", rating=1)
    with pytest.raises(ConfigurationError):
        fb.record("req_4")
    with pytest.raises(ConfigurationError):
        fb.record("req_4", rating=float("nan"))
    assert FeedbackCollector().sinks  # in memory by default


def test_json_formatter_fields_and_redaction() -> None:
    secret = "sk-FORMATTER-CANARY-123456"
    register_secret(secret)
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("ai_lib_python.test_formatter")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("token %s leaked?", secret, extra={"ai_lib": {"provider": "openai"},
                                                       "custom": 1})
        try:
            raise ValueError(f"bad {secret}")
        except ValueError:
            log.exception("boom")
    finally:
        log.removeHandler(handler)
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert lines[0]["message"] == "token *** leaked?"
    assert lines[0]["provider"] == "openai" and lines[0]["custom"] == 1
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"].endswith("test_formatter")
    assert lines[1]["exc_type"] == "ValueError" and lines[1]["exc_message"] == "bad ***"
    assert secret not in buf.getvalue()


def test_without_the_extra_the_core_works_and_the_error_says_what_to_install() -> None:
    code = textwrap.dedent("""
        import sys
        for name in ("prometheus_client", "opentelemetry", "opentelemetry.trace"):
            sys.modules[name] = None
        import ai_lib_python.telemetry as t
        from ai_lib_python.errors import ConfigurationError
        t.Telemetry(logger=t.CallLogger())
        t.FeedbackCollector().record("r", rating=1)
        for make in (t.MetricsCollector, t.Tracer):
            try:
                make()
            except ConfigurationError as exc:
                print(exc)
        assert "prometheus_client" not in [m for m in sys.modules if sys.modules[m]]
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert len(out) == 2
    assert all("pip install ai-lib-python[telemetry]" in line for line in out)
    assert "prometheus_client" in out[0] and "opentelemetry" in out[1]


def test_metrics_plug_into_an_existing_registry() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    metrics = MetricsCollector(registry, namespace="app_llm")
    metrics.set_up("openai/gpt-4o-mini", True)
    text = generate_latest(registry).decode()
    assert 'app_llm_endpoint_up{target="openai/gpt-4o-mini"} 1.0' in text
    assert "# TYPE app_llm_requests_total counter" in text
    assert "\napp_llm_requests_total{" not in text  # no sample until a call is recorded
