"""Telemetry you can operate: metrics, traces, logs, health checks and feedback.

:class:`Telemetry` is the layer (stage 40) that records every call of a client,
streamed or not, into a :class:`MetricsCollector` (Prometheus), a :class:`Tracer`
(OpenTelemetry, GenAI semantic conventions) and a :class:`CallLogger` (stdlib
``logging``, :class:`JsonFormatter` for one JSON object per line)::

    from ai_lib_python.telemetry import CallLogger, MetricsCollector, Telemetry, Tracer

    metrics = MetricsCollector()
    telemetry = Telemetry(metrics=metrics, tracer=Tracer(), logger=CallLogger())
    client = await AiClient.builder().model("openai/gpt-5.4").with_telemetry(telemetry).build()
    server = serve_metrics(metrics, port=9464)          # GET /metrics

:class:`HealthChecker` runs the manifests' ``availability.check`` and feeds a
routing :class:`~ai_lib_python.routing.ModelArray`; :class:`FeedbackCollector`
keeps ratings tied to request ids.

The metrics and the tracer need the ``telemetry`` extra
(``pip install ai-lib-python[telemetry]``); without it they raise a
ConfigurationError saying so. The rest of this package needs nothing extra.
"""

from ai_lib_python.telemetry._feedback import (
    Feedback,
    FeedbackCollector,
    FeedbackSink,
    InMemoryFeedbackSink,
    JsonlFeedbackSink,
)
from ai_lib_python.telemetry._health import HealthChecker, HealthResult
from ai_lib_python.telemetry._layer import Telemetry
from ai_lib_python.telemetry._logging import LOGGER_NAME, CallLogger, JsonFormatter
from ai_lib_python.telemetry._metrics import MetricsCollector, MetricsServer, serve_metrics
from ai_lib_python.telemetry._optional import INSTALL_HINT
from ai_lib_python.telemetry._record import Attempt, CallRecord
from ai_lib_python.telemetry._tracing import Tracer

__all__ = [
    "INSTALL_HINT",
    "LOGGER_NAME",
    "Attempt",
    "CallLogger",
    "CallRecord",
    "Feedback",
    "FeedbackCollector",
    "FeedbackSink",
    "HealthChecker",
    "HealthResult",
    "InMemoryFeedbackSink",
    "JsonFormatter",
    "JsonlFeedbackSink",
    "MetricsCollector",
    "MetricsServer",
    "Telemetry",
    "Tracer",
    "serve_metrics",
]
