"""The standard error codes (AI-Protocol ``schemas/v2/error-codes.yaml``), defined once.

Every other place that needs to know whether an error is retryable or fallbackable
asks this table; nothing else lists status codes or flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class StandardCode:
    """One row of the standard error table."""

    code: str
    name: str
    category: str
    http_status: tuple[int, ...]
    retryable: bool
    fallbackable: bool
    hint: str


_ROWS: Final = (
    StandardCode("E1001", "invalid_request", "client", (400, 422), False, False,
                 "Check the request parameters against the provider's API."),
    StandardCode("E1002", "authentication", "client", (401,), False, True,
                 "Check that the API key is set and valid."),
    StandardCode("E1003", "permission_denied", "client", (403,), False, False,
                 "Check account permissions and model access."),
    StandardCode("E1004", "not_found", "client", (404,), False, False,
                 "Check the model id and the endpoint URL."),
    StandardCode("E1005", "request_too_large", "client", (413,), False, False,
                 "Reduce the input or use a model with a larger context window."),
    StandardCode("E2001", "rate_limited", "rate", (429,), True, True,
                 "Retry with backoff; the provider's rate-limit headers say when."),
    StandardCode("E2002", "quota_exhausted", "rate", (402,), False, True,
                 "The account's quota or billing limit is reached."),
    StandardCode("E3001", "server_error", "server", (500, 502), True, True,
                 "Retry with backoff; check the provider's status page if it persists."),
    StandardCode("E3002", "overloaded", "server", (503, 529), True, True,
                 "Retry with a longer backoff or fall back to another provider."),
    StandardCode("E3003", "timeout", "server", (504, 408), True, True,
                 "Increase the timeout or retry."),
    StandardCode("E4001", "conflict", "operational", (409,), True, False,
                 "Retry after a short delay."),
    StandardCode("E4002", "cancelled", "operational", (499,), False, False,
                 "The request was cancelled by the client."),
    StandardCode("E9999", "unknown", "unknown", (), False, False,
                 "Inspect the provider's error body for details."),
)

BY_CODE: Final[dict[str, StandardCode]] = {row.code: row for row in _ROWS}
BY_NAME: Final[dict[str, StandardCode]] = {row.name: row for row in _ROWS}
# Legacy / alias class names seen in manifests and compliance data.
BY_NAME.update(
    {
        "other": BY_CODE["E9999"],
        "capability_not_declared": BY_CODE["E1005"],
        "unsupported_capability": BY_CODE["E1005"],
        "context_length_exceeded": BY_CODE["E1005"],
    }
)
BY_STATUS: Final[dict[int, StandardCode]] = {
    status: row for row in _ROWS for status in row.http_status
}
UNKNOWN: Final = BY_CODE["E9999"]

# Provider error codes/types that are unambiguous whatever the HTTP status says
# (error-codes.yaml ``provider_mappings``), merged: the keys do not collide.
PROVIDER_CODES: Final[dict[str, str]] = {
    # OpenAI and OpenAI-compatible
    "invalid_api_key": "authentication",
    "model_not_found": "not_found",
    "context_length_exceeded": "request_too_large",
    "string_above_max_length": "request_too_large",
    "rate_limit_exceeded": "rate_limited",
    "insufficient_quota": "quota_exhausted",
    "server_error": "server_error",
    # Anthropic error.type
    "invalid_request_error": "invalid_request",
    "authentication_error": "authentication",
    "permission_error": "permission_denied",
    "not_found_error": "not_found",
    "request_too_large": "request_too_large",
    "rate_limit_error": "rate_limited",
    "api_error": "server_error",
    "overloaded_error": "overloaded",
    # Google canonical status strings (Gemini)
    "INVALID_ARGUMENT": "invalid_request",
    "FAILED_PRECONDITION": "invalid_request",
    "OUT_OF_RANGE": "invalid_request",
    "UNAUTHENTICATED": "authentication",
    "PERMISSION_DENIED": "permission_denied",
    "NOT_FOUND": "not_found",
    "RESOURCE_EXHAUSTED": "rate_limited",
    "INTERNAL": "server_error",
    "UNKNOWN": "server_error",
    "UNAVAILABLE": "overloaded",
    "DEADLINE_EXCEEDED": "timeout",
    "ABORTED": "conflict",
    "CANCELLED": "cancelled",
    # DeepSeek
    "rate_limit_reached": "rate_limited",
    "authentication_fails": "authentication",
}

# Message fragments that turn an ambiguous 429 into a quota error.
QUOTA_MESSAGE_HINTS: Final = ("quota", "billing", "credit balance", "insufficient balance")
