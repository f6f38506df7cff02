"""Errors: one exception tree, the standard code table, and the one classifier."""

from ai_lib_python.errors._classify import (
    classify,
    extract_error_fields,
    parse_retry_after,
    provider_error,
)
from ai_lib_python.errors._codes import BY_CODE, BY_NAME, StandardCode
from ai_lib_python.errors._errors import (
    AiLibError,
    CancelledError,
    ClientClosedError,
    ConfigurationError,
    ConnectError,
    ConnectTimeoutError,
    FirstTokenTimeoutError,
    IdleTimeoutError,
    ProtocolError,
    ProviderError,
    StreamDecodeError,
    TimeoutErrorBase,
    TotalTimeoutError,
    TransportError,
)
from ai_lib_python.errors._redact import redact, register_secret

__all__ = [
    "BY_CODE",
    "BY_NAME",
    "AiLibError",
    "CancelledError",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectError",
    "ConnectTimeoutError",
    "FirstTokenTimeoutError",
    "IdleTimeoutError",
    "ProtocolError",
    "ProviderError",
    "StandardCode",
    "StreamDecodeError",
    "TimeoutErrorBase",
    "TotalTimeoutError",
    "TransportError",
    "classify",
    "extract_error_fields",
    "parse_retry_after",
    "provider_error",
    "redact",
    "register_secret",
]
