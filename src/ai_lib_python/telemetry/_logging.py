"""Structured call logs through the standard ``logging`` module.

:class:`CallLogger` writes one record per call (and, at DEBUG, one per extra attempt)
to the ``ai_lib_python.calls`` logger. The structured fields travel in
``record.ai_lib`` (a dict); :class:`JsonFormatter` renders a record and those
fields as one JSON object per line::

    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.getLogger("ai_lib_python").addHandler(handler)

Fields: ``event``, ``outcome``, ``provider``, ``model``, ``target``, ``mode``,
``request_id``, ``attempt`` (the attempt that ended the call), ``latency_ms``, ``ttft_ms``,
``error_code``, ``error_type``, ``error`` (redacted), ``input_tokens``,
``output_tokens``, ``cost_usd``, ``route``, ``fallback_from``. Prompt and response
text only with ``include_content=True``. No credential is ever a field, and every
message passes through the secret redaction.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

from ai_lib_python.errors import redact
from ai_lib_python.telemetry._record import SUCCESS, CallRecord

LOGGER_NAME = "ai_lib_python.calls"
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime"}


class CallLogger:
    """Logs finished calls (see the module doc)."""

    def __init__(self, logger: logging.Logger | str | None = None, *,
                 level: int = logging.INFO, error_level: int = logging.WARNING,
                 include_content: bool = False) -> None:
        if isinstance(logger, logging.Logger):
            self.logger = logger
        else:
            self.logger = logging.getLogger(logger or LOGGER_NAME)
        self.level = level
        self.error_level = error_level
        self.include_content = include_content

    def log_call(self, rec: CallRecord, request_messages: Any = None) -> None:
        level = self.level if rec.outcome == SUCCESS else self.error_level
        logger = self.logger
        if logger.isEnabledFor(logging.DEBUG):
            for att in rec.attempt_log:
                if att.outcome == SUCCESS:
                    continue
                logger.debug(
                    "chat attempt %d on %s failed: %s", att.number, att.target,
                    att.error_type or att.error_code or "error",
                    extra={"ai_lib": _drop_none({
                        "event": "chat.attempt", "attempt": att.number, "target": att.target,
                        "error_code": att.error_code, "error_type": att.error_type,
                        "status": att.status, "wait_s": att.wait_s,
                        "latency_ms": att.latency_ms, "request_id": rec.request_id})})
        if not logger.isEnabledFor(level):
            return
        fields: dict[str, Any] = {
            "event": "chat.call", "outcome": rec.outcome, "provider": rec.provider,
            "model": rec.model, "target": rec.target, "mode": rec.mode,
            "request_id": rec.request_id, "attempt": rec.attempts,
            "latency_ms": round(rec.latency_s * 1000.0, 3),
            "ttft_ms": round(rec.ttft_s * 1000.0, 3) if rec.ttft_s is not None else None,
            "status": rec.status, "error_code": rec.error_code, "error_type": rec.error_type,
            "error": rec.error_message, "input_tokens": rec.input_tokens,
            "output_tokens": rec.output_tokens, "cost_usd": rec.cost_usd, "route": rec.route,
            "fallback_from": rec.primary if rec.fallback else None,
        }
        if self.include_content:
            if request_messages is not None:
                fields["prompt"] = [{"role": m.role, "content": m.text}
                                    for m in request_messages]
            if rec.response is not None:
                fields["response"] = rec.response.content
        text = (f"chat {rec.outcome} {rec.target} in {rec.latency_s * 1000.0:.1f} ms, "
                f"{rec.attempts} attempt(s)")
        if rec.error_type:
            text += f", {rec.error_type} ({rec.error_code})"
        if rec.request_id:
            text += f", request id {rec.request_id}"
        logger.log(level, "%s", text, extra={"ai_lib": _drop_none(fields)})


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the ``ai_lib`` fields
    and any other ``extra=`` fields; exceptions as ``exc_type``/``exc_message``.
    Everything is redacted of registered secrets."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "ai_lib", None)
        if isinstance(fields, dict):
            out.update(fields)
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key != "ai_lib" and key not in out:
                out[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            out["exc_type"] = type(exc).__name__
            out["exc_message"] = str(exc)
        return redact(json.dumps(out, ensure_ascii=False, default=str))
