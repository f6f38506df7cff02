"""Feedback on answers: a rating, a label and a comment tied to a request id.

:class:`FeedbackCollector` stamps each item and hands it to its sinks (in memory,
a JSONL file, or anything with ``write(feedback)``) and, when given a
:class:`MetricsCollector`, counts it as ``ai_lib_feedback_total{label}`` and
``ai_lib_feedback_rating``.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ai_lib_python.errors import ConfigurationError

if TYPE_CHECKING:
    from ai_lib_python.telemetry._metrics import MetricsCollector
    from ai_lib_python.types import ChatResponse


@dataclass(frozen=True, slots=True)
class Feedback:
    """One piece of feedback. ``timestamp`` is seconds since the epoch."""

    request_id: str
    rating: float | None = None
    label: str | None = None
    comment: str | None = None
    timestamp: float = 0.0
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["metadata"] = dict(self.metadata)
        return out


@runtime_checkable
class FeedbackSink(Protocol):
    """Where feedback goes: anything with ``write(feedback)``."""

    def write(self, feedback: Feedback) -> None: ...


class InMemoryFeedbackSink:
    """Keeps feedback in a list (``items``), e.g. for tests or a small service."""

    def __init__(self) -> None:
        self.items: list[Feedback] = []
        self._lock = threading.Lock()

    def write(self, feedback: Feedback) -> None:
        with self._lock:
            self.items.append(feedback)

    def for_request(self, request_id: str) -> list[Feedback]:
        with self._lock:
            return [f for f in self.items if f.request_id == request_id]


class JsonlFeedbackSink:
    """Appends one JSON object per line to ``path`` (created with its folder)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(self, feedback: Feedback) -> None:
        line = json.dumps(feedback.to_dict(), ensure_ascii=False, default=str) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line)

    def read(self) -> list[Feedback]:
        """Every item written so far."""
        if not self.path.exists():
            return []
        out: list[Feedback] = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                data = json.loads(line)
                out.append(Feedback(**data))
        return out


class FeedbackCollector:
    """Receives feedback and passes it to every sink (and the metrics)."""

    def __init__(self, sinks: Iterable[FeedbackSink] | None = None, *,
                 metrics: MetricsCollector | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.sinks: list[FeedbackSink] = (list(sinks) if sinks is not None
                                          else [InMemoryFeedbackSink()])
        self.metrics = metrics
        self._clock = clock

    def record(self, request_id: str, *, rating: float | None = None,
               label: str | None = None, comment: str | None = None,
               metadata: Mapping[str, Any] | None = None) -> Feedback:
        """Record feedback for the call whose request id is ``request_id``."""
        if not request_id:
            raise ConfigurationError("feedback needs the request id of the call")
        if rating is not None and (isinstance(rating, bool) or not math.isfinite(rating)):
            raise ConfigurationError(f"rating must be a finite number, got {rating!r}")
        if rating is None and label is None and comment is None:
            raise ConfigurationError("feedback needs a rating, a label or a comment")
        item = Feedback(request_id, None if rating is None else float(rating), label,
                        comment, self._clock(), dict(metadata or {}))
        for sink in self.sinks:
            sink.write(item)
        if self.metrics is not None:
            self.metrics.record_feedback(item)
        return item

    def record_for(self, response: ChatResponse, **kw: Any) -> Feedback:
        """Record feedback for a response (its ``stats.request_id``, else its ``id``)."""
        rid = response.stats.request_id or response.id
        if not rid:
            raise ConfigurationError("this response carries no request id")
        return self.record(rid, **kw)
