"""Transport: the httpx client, timeouts, and credentials."""

from ai_lib_python.transport._credentials import (
    CredentialResolution,
    attach_auth,
    resolve_credential,
)
from ai_lib_python.transport._http import DEFAULT_LIMITS, HttpResponse, HttpTransport, convert_error
from ai_lib_python.transport._timeout import Timeout

__all__ = [
    "DEFAULT_LIMITS",
    "CredentialResolution",
    "HttpResponse",
    "HttpTransport",
    "Timeout",
    "attach_auth",
    "convert_error",
    "resolve_credential",
]
