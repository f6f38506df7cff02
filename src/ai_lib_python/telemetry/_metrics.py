"""Prometheus metrics for every call, plus a helper that serves ``/metrics``.

Needs ``prometheus-client`` (``pip install ai-lib-python[telemetry]``). The
collector registers its metrics in its own ``CollectorRegistry`` unless one is
given (pass ``prometheus_client.REGISTRY`` to join the process-wide one).

======================================= =========== =============================================
Metric                                  Type        Labels
======================================= =========== =============================================
``ai_lib_requests_total``               counter     provider, model, mode, outcome, error_code
``ai_lib_request_duration_seconds``     histogram   provider, model, mode, outcome
``ai_lib_time_to_first_token_seconds``  histogram   provider, model
``ai_lib_tokens_total``                 counter     provider, model, direction (input|output)
``ai_lib_cost_usd_total``               counter     provider, model
``ai_lib_in_flight_requests``           gauge       mode
``ai_lib_retries_total``                counter     provider, model
``ai_lib_fallbacks_total``              counter     primary, target
``ai_lib_circuit_breaker_state``        gauge       target (0 closed, 1 half-open, 2 open)
``ai_lib_endpoint_up``                  gauge       target (last health check: 1 up, 0 down)
``ai_lib_feedback_total``               counter     label
``ai_lib_feedback_rating``              histogram   (none)
======================================= =========== =============================================

``mode`` is ``execute`` or ``stream``; ``outcome`` is ``success``, ``error`` or
``cancelled``; ``error_code`` is the standard code (``E3002``...) or ``none``;
``provider``/``model`` name the target that answered (or was tried last).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ai_lib_python.telemetry._optional import require
from ai_lib_python.telemetry._record import CallRecord

if TYPE_CHECKING:
    from ai_lib_python.telemetry._feedback import Feedback

DURATION_BUCKETS: tuple[float, ...] = (
    0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0)
TTFT_BUCKETS: tuple[float, ...] = (
    0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 2.0, 4.0, 8.0, 16.0)
RATING_BUCKETS: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 5.0)
BREAKER_VALUES = {"closed": 0.0, "half_open": 1.0, "half-open": 1.0, "open": 2.0}


class MetricsCollector:
    """Records calls into Prometheus metrics (see the module doc for the names)."""

    def __init__(self, registry: Any = None, *, namespace: str = "ai_lib",
                 duration_buckets: Sequence[float] = DURATION_BUCKETS,
                 ttft_buckets: Sequence[float] = TTFT_BUCKETS) -> None:
        prom = require("prometheus_client", "MetricsCollector")
        self.registry = registry if registry is not None else prom.CollectorRegistry()
        ns = namespace
        reg = self.registry
        self.requests = prom.Counter(
            f"{ns}_requests", "Chat calls by outcome.",
            ["provider", "model", "mode", "outcome", "error_code"], registry=reg)
        self.duration = prom.Histogram(
            f"{ns}_request_duration_seconds", "Duration of chat calls (streams: until the end).",
            ["provider", "model", "mode", "outcome"], buckets=tuple(duration_buckets),
            registry=reg)
        self.ttft = prom.Histogram(
            f"{ns}_time_to_first_token_seconds", "Time to the first token of streamed calls.",
            ["provider", "model"], buckets=tuple(ttft_buckets), registry=reg)
        self.tokens = prom.Counter(
            f"{ns}_tokens", "Tokens reported by providers.",
            ["provider", "model", "direction"], registry=reg)
        self.cost = prom.Counter(
            f"{ns}_cost_usd", "Estimated cost in USD from the model registry prices.",
            ["provider", "model"], registry=reg)
        self.in_flight = prom.Gauge(
            f"{ns}_in_flight_requests", "Chat calls in progress.", ["mode"], registry=reg)
        self.retries = prom.Counter(
            f"{ns}_retries", "Extra attempts made by calls (attempts - 1).",
            ["provider", "model"], registry=reg)
        self.fallbacks = prom.Counter(
            f"{ns}_fallbacks", "Calls answered by a target other than the first choice.",
            ["primary", "target"], registry=reg)
        self.breaker = prom.Gauge(
            f"{ns}_circuit_breaker_state",
            "Circuit breaker state per target: 0 closed, 1 half-open, 2 open.",
            ["target"], registry=reg)
        self.up = prom.Gauge(
            f"{ns}_endpoint_up", "Last health check per target: 1 up, 0 down.",
            ["target"], registry=reg)
        self.feedback = prom.Counter(
            f"{ns}_feedback", "Feedback received, by label.", ["label"], registry=reg)
        self.rating = prom.Histogram(
            f"{ns}_feedback_rating", "Feedback ratings.", buckets=RATING_BUCKETS, registry=reg)
        self._in_flight = {"execute": self.in_flight.labels("execute"),
                           "stream": self.in_flight.labels("stream")}
        # Bound children per label set: ``labels()`` costs more than the update itself.
        self._outcome_series: dict[tuple[str, str, str, str, str], tuple[Any, Any]] = {}
        self._model_series: dict[tuple[str, str], tuple[Any, Any, Any, Any, Any]] = {}

    def _by_outcome(self, key: tuple[str, str, str, str, str]) -> tuple[Any, Any]:
        series = self._outcome_series.get(key)
        if series is None:
            p, m, mode, outcome, code = key
            series = (self.requests.labels(p, m, mode, outcome, code),
                      self.duration.labels(p, m, mode, outcome))
            self._outcome_series[key] = series
        return series

    def _by_model(self, key: tuple[str, str]) -> tuple[Any, Any, Any, Any, Any]:
        series = self._model_series.get(key)
        if series is None:
            p, m = key
            series = (self.tokens.labels(p, m, "input"), self.tokens.labels(p, m, "output"),
                      self.cost.labels(p, m), self.retries.labels(p, m), self.ttft.labels(p, m))
            self._model_series[key] = series
        return series

    # -- calls --------------------------------------------------------------------
    def call_started(self, mode: str) -> None:
        """A call began (the in-flight gauge goes up)."""
        self._in_flight[mode].inc()

    def call_dropped(self, mode: str) -> None:
        """A call ended without a record (the in-flight gauge goes down)."""
        self._in_flight[mode].dec()

    def call_finished(self, rec: CallRecord) -> None:
        """Record one finished call (the in-flight gauge goes down)."""
        self._in_flight[rec.mode].dec()
        requests, duration = self._by_outcome(
            (rec.provider, rec.model, rec.mode, rec.outcome, rec.error_code or "none"))
        requests.inc()
        duration.observe(rec.latency_s)
        tokens_in, tokens_out, cost, retries, ttft = self._by_model((rec.provider, rec.model))
        if rec.ttft_s is not None and rec.mode == "stream":
            ttft.observe(rec.ttft_s)
        if rec.input_tokens:
            tokens_in.inc(rec.input_tokens)
        if rec.output_tokens:
            tokens_out.inc(rec.output_tokens)
        if rec.cost_usd:
            cost.inc(rec.cost_usd)
        if rec.attempts > 1:
            retries.inc(rec.attempts - 1)
        if rec.fallback:
            self.fallbacks.labels(rec.primary, rec.target).inc()
        for target, state in rec.breakers.items():
            self.set_breaker(target, state)

    def set_breaker(self, target: str, state: str) -> None:
        value = BREAKER_VALUES.get(state)
        if value is not None:
            self.breaker.labels(target).set(value)

    def set_up(self, target: str, up: bool) -> None:
        self.up.labels(target).set(1.0 if up else 0.0)

    def record_feedback(self, feedback: Feedback) -> None:
        self.feedback.labels(feedback.label or "none").inc()
        if feedback.rating is not None:
            self.rating.observe(feedback.rating)

    # -- exposition ---------------------------------------------------------------
    def generate_latest(self) -> bytes:
        """The registry in the Prometheus text format."""
        prom = require("prometheus_client", "MetricsCollector")
        data: bytes = prom.generate_latest(self.registry)
        return data


class MetricsServer:
    """A running ``/metrics`` HTTP endpoint (a thread); ``close()`` stops it."""

    def __init__(self, server: Any, thread: threading.Thread, host: str) -> None:
        self._server = server
        self._thread = thread
        self.host = host
        self.port: int = server.server_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_metrics(source: MetricsCollector | Any, *, port: int = 9464,
                  addr: str = "127.0.0.1") -> MetricsServer:
    """Serve ``source`` (a collector or a registry) at ``http://addr:port/metrics``.

    Binds the loopback interface unless ``addr`` says otherwise (``"0.0.0.0"`` for a
    scraper on another host); ``port=0`` picks a free port (see ``.port``).
    """
    prom = require("prometheus_client", "serve_metrics")
    registry = source.registry if isinstance(source, MetricsCollector) else source
    server, thread = prom.start_http_server(port, addr=addr, registry=registry)
    return MetricsServer(server, thread, addr)
