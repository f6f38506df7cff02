"""The exception tree. Every error the library raises is one of these::

    AiLibError
    ├── ConfigurationError        bad input or settings, missing API key (before any I/O)
    ├── ProtocolError             manifest not found, unreadable or invalid
    ├── TransportError            the request did not complete at the HTTP level
    │   ├── ConnectError
    │   ├── ConnectTimeoutError
    │   ├── FirstTokenTimeoutError
    │   ├── IdleTimeoutError
    │   ├── TotalTimeoutError
    │   ├── StreamDecodeError     malformed frame, invalid UTF-8, truncated stream
    │   └── ResponseTooLargeError the body exceeded ``max_response_bytes``
    ├── ProviderError             the provider answered with an error (HTTP or in-stream)
    ├── ResilienceError           the resilience layer refused a call or gave up on it
    │   ├── CircuitOpenError      the target's circuit breaker is open until ``.until``
    │   ├── RateLimitedError      the local rate limiter would wait longer than allowed
    │   ├── BackpressureError     too many calls in flight; none freed within the queue timeout
    │   ├── StateBackendError     shared state (Redis) unreachable and configured to fail closed
    │   └── AllTargetsFailedError every target of a fallback chain failed; ``.attempts``
    ├── PluginError               a plugin hook failed; ``.plugin`` and ``.hook`` name it
    ├── GuardrailViolation        a guardrail blocked the input or the output; ``.rule``
    ├── StructuredOutputError     the answer did not validate against the output type
    ├── ClientClosedError         the client was used after ``close()``
    └── CancelledError            the caller cancelled the call (E4002)

Provider and transport errors carry a standard ``code`` (E1001..E9999) with its
``retryable`` / ``fallbackable`` flags. No message, repr or attribute ever holds a
credential: values registered through :func:`register_secret` are masked wherever
an error renders text.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

from ai_lib_python.errors._codes import BY_CODE, UNKNOWN, StandardCode
from ai_lib_python.errors._redact import redact


class AiLibError(Exception):
    """Root of every error raised by ai-lib-python."""

    code: str = "E9999"

    def __init__(self, message: str) -> None:
        self.message = redact(message)
        super().__init__(self.message)

    @property
    def standard(self) -> StandardCode:
        return BY_CODE.get(self.code, UNKNOWN)

    @property
    def retryable(self) -> bool:
        return self.standard.retryable

    @property
    def fallbackable(self) -> bool:
        return self.standard.fallbackable

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigurationError(AiLibError):
    """Invalid input or settings; raised before any network I/O."""

    code = "E1001"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


class ProtocolError(AiLibError):
    """A manifest could not be found, read or validated."""

    code = "E1001"

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        path: str | None = None,
        line: int | None = None,
        errors: list[str] | None = None,
    ) -> None:
        self.source = source
        self.path = path
        self.line = line
        self.errors = list(errors or [])
        where = ""
        if source:
            where = source + (f":{line}" if line else "")
        if path:
            where = f"{where} at {path}" if where else f"at {path}"
        super().__init__(f"{where}: {message}" if where else message)


class TransportError(AiLibError):
    """The HTTP exchange failed before a complete answer arrived."""

    code = "E3001"

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        url: str | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.url = url
        super().__init__(message)


class ConnectError(TransportError):
    """Could not connect (refused, DNS, TLS) or the connection was reset."""

    code = "E3001"


class TimeoutErrorBase(TransportError):
    """Common base of the four timeouts."""

    code = "E3003"
    timeout_s: float | None = None


class ConnectTimeoutError(TimeoutErrorBase):
    """Connecting took longer than ``Timeout.connect``."""


class FirstTokenTimeoutError(TimeoutErrorBase):
    """No first byte/event arrived within ``Timeout.first_token``."""


class IdleTimeoutError(TimeoutErrorBase):
    """The gap between two chunks of a stream exceeded ``Timeout.idle``."""


class TotalTimeoutError(TimeoutErrorBase):
    """The whole call exceeded ``Timeout.total``."""


class StreamDecodeError(TransportError):
    """The response body could not be decoded (bad frame, bad UTF-8, truncated)."""

    code = "E9999"


class ResponseTooLargeError(TransportError):
    """The response body exceeded the transport's ``max_response_bytes``; not retried."""

    code = "E9999"

    def __init__(self, message: str, *, limit: int, url: str | None = None) -> None:
        self.limit = limit
        super().__init__(message, url=url)


class ProviderError(AiLibError):
    """The provider returned an error, over HTTP or inside a 200 stream."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "E9999",
        status: int | None = None,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        provider_code: str | None = None,
        provider_type: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.code = code
        self.status = status
        self.provider = provider
        self.model = model
        self.request_id = request_id
        self.retry_after = retry_after
        self.provider_code = provider_code
        self.provider_type = provider_type
        self.body = body
        self.headers = dict(headers or {})
        parts = [f"[{code} {self.standard.name}]"]
        if status is not None:
            parts.append(f"HTTP {status}")
        if provider:
            parts.append(f"from {provider}" + (f"/{model}" if model else ""))
        head = " ".join(parts)
        tail = f" (request id {request_id})" if request_id else ""
        super().__init__(f"{head}: {message}{tail}")


class ClientClosedError(AiLibError):
    """The client was used after it was closed."""

    code = "E1001"


class CancelledError(AiLibError):
    """The call was cancelled through its CancelToken (E4002)."""

    code = "E4002"


class ResilienceError(AiLibError):
    """The resilience layer refused a call before sending it, or gave up on it.

    Refusals (breaker open, limiter, backpressure, state backend) are never retried
    against the same target; a fallback chain moves on when the code is fallbackable.
    """

    target: str | None = None
    retry_after: float | None = None


class CircuitOpenError(ResilienceError):
    """The target's circuit breaker is open: the call failed fast without a request.

    ``until`` is when the breaker lets a probe through (UTC); ``retry_after`` the
    seconds from the refusal until then.
    """

    code = "E3002"

    def __init__(self, target: str, until: float, *, now: float, failures: int = 0) -> None:
        self.target = target
        self.until = _dt.datetime.fromtimestamp(until, _dt.timezone.utc)
        self.retry_after = max(0.0, until - now)
        self.failures = failures
        after = f" after {failures} consecutive failures" if failures else ""
        super().__init__(
            f"circuit breaker for {target} is open{after}; failing fast until "
            f"{self.until.isoformat(timespec='milliseconds')} (in {self.retry_after:.1f}s)")


class RateLimitedError(ResilienceError):
    """The local rate limiter would have to wait longer than its ``max_wait_s``."""

    code = "E2001"

    def __init__(self, target: str, retry_after: float, *, max_wait_s: float,
                 reason: str = "rate limit") -> None:
        self.target = target
        self.retry_after = retry_after
        self.max_wait_s = max_wait_s
        super().__init__(
            f"{reason} for {target}: the next slot is {retry_after:.2f}s away, longer than "
            f"the limiter's max wait of {max_wait_s:g}s")


class BackpressureError(ResilienceError):
    """Every in-flight slot of the client stayed busy for the whole queue timeout."""

    code = "E2001"

    def __init__(self, max_inflight: int, queue_timeout_s: float | None) -> None:
        self.max_inflight = max_inflight
        self.queue_timeout_s = queue_timeout_s
        super().__init__(
            f"all {max_inflight} in-flight slots stayed busy for the queue timeout of "
            f"{queue_timeout_s:g}s" if queue_timeout_s is not None else
            f"all {max_inflight} in-flight slots are busy")


class StateBackendError(ResilienceError):
    """The shared state backend is unreachable and configured to fail closed."""

    code = "E3001"


class AllTargetsFailedError(ResilienceError):
    """Every target of a fallback chain failed; raised from (chained to) the last error.

    ``attempts`` lists ``(target, error)`` in the order tried; ``code`` (hence
    ``retryable``/``fallbackable``) and ``retry_after`` are those of the last error.
    With a single target the library raises that target's error itself.
    """

    def __init__(self, attempts: Sequence[tuple[str, AiLibError]]) -> None:
        if not attempts:
            raise ValueError("AllTargetsFailedError needs at least one attempt")
        self.attempts = list(attempts)
        self.last = attempts[-1][1]
        self.code = self.last.code
        self.target = attempts[-1][0]
        self.retry_after = getattr(self.last, "retry_after", None)
        tried = "; ".join(f"{t}: {e.message}" for t, e in self.attempts)
        super().__init__(f"all {len(self.attempts)} targets failed: {tried}")


class PluginError(AiLibError):
    """A plugin hook raised. ``plugin`` and ``hook`` name it; ``__cause__`` is what it raised."""

    def __init__(self, message: str, *, plugin: str, hook: str) -> None:
        self.plugin = plugin
        self.hook = hook
        super().__init__(f"plugin {plugin!r} failed in {hook}: {message}")


class GuardrailViolation(AiLibError):
    """A guardrail rule blocked the input (E1001) or the output of a call.

    ``rule`` names the rule, ``direction`` is ``"input"`` or ``"output"``, ``kind``
    what it found (``"email"``, ``"keyword"``, ...). The matched text itself is never
    part of the error: it may be the very secret the rule protects.
    """

    def __init__(self, message: str, *, rule: str, direction: str,
                 kind: str | None = None, offset: int | None = None) -> None:
        self.rule = rule
        self.direction = direction
        self.kind = kind
        self.offset = offset
        self.code = "E1001" if direction == "input" else "E9999"
        super().__init__(message)


class StructuredOutputError(AiLibError):
    """The model's answer did not validate against the requested output type.

    ``raw_text`` is the last answer, ``errors`` its validation errors (Pydantic's
    ``errors()`` entries, or one entry for text that is not JSON), ``attempts`` how
    many answers were tried (the first one plus repairs), ``response`` the last
    ChatResponse.
    """

    def __init__(self, message: str, *, raw_text: str, errors: Sequence[Mapping[str, Any]],
                 attempts: int = 1, response: Any = None) -> None:
        self.raw_text = raw_text
        self.errors = [dict(e) for e in errors]
        self.attempts = attempts
        self.response = response
        super().__init__(message)
