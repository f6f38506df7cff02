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
    │   └── StreamDecodeError     malformed frame, invalid UTF-8, truncated stream
    ├── ProviderError             the provider answered with an error (HTTP or in-stream)
    ├── ClientClosedError         the client was used after ``close()``
    └── CancelledError            the caller cancelled the call (E4002)

Provider and transport errors carry a standard ``code`` (E1001..E9999) with its
``retryable`` / ``fallbackable`` flags. No message, repr or attribute ever holds a
credential: values registered through :func:`register_secret` are masked wherever
an error renders text.
"""

from __future__ import annotations

from collections.abc import Mapping
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
