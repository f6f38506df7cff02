"""CallRecord: the facts of one finished call, read once from the CallContext.

The telemetry layer builds one record per call (at the end of ``execute``, or when a
stream ends, is closed or fails) and hands it to the metrics, the tracer and the
logger, so they agree and nothing is computed per chunk. Everything comes from
``CallStats`` (filled by the endpoint, the resilience executor and the router), the
assembled ``ChatResponse`` and the exception, never from the request's credentials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ai_lib_python.errors import BY_CODE, AiLibError, redact
from ai_lib_python.types import CallStats, ChatRequest, ChatResponse

SUCCESS = "success"
ERROR = "error"
CANCELLED = "cancelled"


@dataclass(slots=True)
class Attempt:
    """One attempt of a call, as the executor reported it."""

    number: int
    target: str
    outcome: str
    error_code: str | None = None
    error_type: str | None = None
    status: int | None = None
    wait_s: float | None = None
    latency_ms: float | None = None
    offset_ms: float | None = None
    """When the attempt started, in ms after the call started (None when unknown)."""


@dataclass(slots=True)
class CallRecord:
    """What one call did; see the module doc."""

    provider: str
    model: str
    target: str
    primary: str
    mode: str
    outcome: str
    latency_s: float
    attempts: int = 1
    ttft_s: float | None = None
    error_code: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    status: int | None = None
    retry_waits_s: list[float] = field(default_factory=list)
    request_id: str | None = None
    response_id: str | None = None
    response_model: str | None = None
    finish_reasons: list[str] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    cost_usd: float | None = None
    breakers: dict[str, str] = field(default_factory=dict)
    attempt_log: list[Attempt] = field(default_factory=list)
    route: str | None = None
    request_model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    response: ChatResponse | None = None

    @property
    def fallback(self) -> bool:
        """True when a target other than the first choice answered."""
        return self.outcome == SUCCESS and self.target != self.primary

    @property
    def retries(self) -> int:
        return max(self.attempts - 1, 0)


def error_fields(exc: BaseException) -> tuple[str | None, str, str, int | None]:
    """(standard code, low-cardinality type, redacted message, HTTP status) of an error."""
    if isinstance(exc, AiLibError):
        status = getattr(exc, "status", None)
        return (exc.code, exc.standard.name, exc.message,
                status if isinstance(status, int) else None)
    return None, type(exc).__name__, redact(str(exc)), None


def _target_name(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _attempts_from(stats: CallStats, ok: bool) -> list[Attempt]:
    """Per-attempt records: ``extra["attempts"]`` when an executor gives them, else the
    failed attempts the resilience layer lists plus the final one."""
    extra = stats.extra
    raw = extra.get("attempts")
    out: list[Attempt] = []
    if isinstance(raw, list):
        for i, item in enumerate(raw, 1):
            if not isinstance(item, dict):
                continue
            code = item.get("error_code") or item.get("code")
            out.append(Attempt(
                number=int(item.get("attempt", i)),
                target=str(item.get("target") or ""),
                outcome=str(item.get("outcome") or (ERROR if code else SUCCESS)),
                error_code=code,
                error_type=item.get("error_type") or _code_name(code),
                status=_num(item.get("status"), int),
                wait_s=_num(item.get("wait_s"), float),
                latency_ms=_num(item.get("latency_ms"), float),
                offset_ms=_num(item.get("started_ms"), float),
            ))
        return out
    failed = extra.get("failed_attempts")
    if isinstance(failed, list):
        for i, item in enumerate(failed, 1):
            if isinstance(item, dict):
                code = item.get("code")
                out.append(Attempt(i, str(item.get("target") or ""), ERROR,
                                   error_code=code if isinstance(code, str) else None,
                                   error_type=_code_name(code)))
    if ok:
        n = max(stats.attempts, len(out) + 1)
        out.append(Attempt(n, stats.target or f"{stats.provider}/{stats.model}", SUCCESS))
    return out


def _code_name(code: Any) -> str | None:
    row = BY_CODE.get(code) if isinstance(code, str) else None
    return row.name if row is not None else None


def _num(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return kind(value)


def _breakers_from(stats: CallStats) -> dict[str, str]:
    """Breaker phases the call saw: the router's per-member reading, and the phase the
    resilience layer reported for the target tried last."""
    extra = stats.extra
    out: dict[str, str] = {}
    routing = extra.get("routing")
    if isinstance(routing, dict) and isinstance(routing.get("breakers"), dict):
        out.update({str(k): v for k, v in routing["breakers"].items() if isinstance(v, str)})
    phase = extra.get("breaker")
    if isinstance(phase, str):
        name = None
        if isinstance(routing, dict):
            name = routing.get("answered") or routing.get("last")
        out[name or stats.target or f"{stats.provider}/{stats.model}"] = phase
    return out


def build_record(
    *,
    stats: CallStats,
    request: ChatRequest,
    mode: str,
    latency_s: float,
    start_target: str,
    response: ChatResponse | None,
    error: BaseException | None,
    cancelled: bool,
) -> CallRecord:
    """The record of a finished call."""
    extra = stats.extra
    routing = extra.get("routing") if isinstance(extra.get("routing"), dict) else None
    target = stats.target or f"{stats.provider}/{stats.model}"
    primary = start_target
    route = None
    if routing is not None:
        route = _target_name(routing.get("route"))
        primary = _target_name(routing.get("first")) or primary
        target = _target_name(routing.get("answered")) or target
    else:
        primary = _target_name(extra.get("primary")) or primary
    rec = CallRecord(
        provider=stats.provider,
        model=stats.model,
        target=target,
        primary=primary,
        mode=mode,
        outcome=SUCCESS,
        latency_s=latency_s,
        attempts=max(stats.attempts, 1),
        ttft_s=(stats.time_to_first_token_ms / 1000.0
                if stats.time_to_first_token_ms is not None else None),
        status=stats.status,
        retry_waits_s=list(stats.retry_waits_s),
        request_id=stats.request_id,
        breakers=_breakers_from(stats),
        attempt_log=_attempts_from(stats, error is None and not cancelled),
        route=route,
        request_model=request.model,
        temperature=request.temperature,
        max_tokens=request.max_tokens,
        top_p=request.top_p,
        response=response,
    )
    if error is not None:
        rec.outcome = ERROR
        rec.error_code, rec.error_type, rec.error_message, status = error_fields(error)
        if status is not None:
            rec.status = status
        if rec.error_code == "E4002":
            rec.outcome = CANCELLED
    elif cancelled:
        rec.outcome = CANCELLED
    cost = extra.get("cost_usd")
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        rec.cost_usd = float(cost)
    if response is not None:
        rec.response_id = response.id
        rec.response_model = response.model
        rec.finish_reasons = [
            c.raw_finish_reason or c.finish_reason or "" for c in response.candidates
            if c.raw_finish_reason or c.finish_reason]
        usage = response.usage
        if usage is not None:
            rec.input_tokens = usage.prompt_tokens
            rec.output_tokens = usage.completion_tokens
            rec.cached_tokens = usage.cached_tokens
        if rec.request_id is None:
            rec.request_id = response.id
    return rec
