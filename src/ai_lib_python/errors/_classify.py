"""Turn a provider's failure into a :class:`ProviderError`: the one conversion point.

Order of classification: the manifest's ``error_classification.by_error_code`` ->
the standard provider codes (error-codes.yaml ``provider_mappings``) -> the
manifest's ``by_http_status`` -> the standard HTTP table -> E9999.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from typing import Any

from ai_lib_python.errors._codes import (
    BY_NAME,
    BY_STATUS,
    PROVIDER_CODES,
    QUOTA_MESSAGE_HINTS,
    UNKNOWN,
    StandardCode,
)
from ai_lib_python.errors._errors import ProviderError


def classify(
    status: int | None,
    *,
    provider_code: str | None = None,
    provider_type: str | None = None,
    message: str = "",
    by_error_code: Mapping[str, str] | None = None,
    by_http_status: Mapping[str, str] | None = None,
) -> StandardCode:
    """Map a provider failure onto a standard error code.

    A provider's error *code* is specific (``context_length_exceeded``,
    ``insufficient_quota``, ``RESOURCE_EXHAUSTED``) and wins over the HTTP status.
    An error *type* is often generic (OpenAI sends ``invalid_request_error`` with 403
    and 404 too), so it counts only where the manifest lists it, or where there is no
    HTTP status to go by (errors inside a 200 stream).
    """
    candidates: list[tuple[str, bool]] = []
    if provider_code:
        candidates.append((provider_code, True))
    if provider_type:
        candidates.append((provider_type, status is None))
    for key, use_global in candidates:
        if by_error_code and key in by_error_code:
            row = BY_NAME.get(by_error_code[key])
            if row is not None:
                return row
        name = PROVIDER_CODES.get(key) if use_global else None
        if name is not None:
            return BY_NAME[name]
    row_from_status: StandardCode | None = None
    if status is not None:
        if by_http_status:
            name = by_http_status.get(str(status))
            if name is not None:
                row_from_status = BY_NAME.get(name)
        if row_from_status is None:
            row_from_status = BY_STATUS.get(status)
            if row_from_status is None and status >= 500:
                row_from_status = BY_NAME["server_error"]
            elif row_from_status is None and status >= 400:
                row_from_status = BY_NAME["invalid_request"]
    if row_from_status is None:
        return UNKNOWN
    if row_from_status.name == "rate_limited" and message:
        low = message.lower()
        if any(h in low for h in QUOTA_MESSAGE_HINTS):
            return BY_NAME["quota_exhausted"]
    return row_from_status


def parse_retry_after(
    headers: Mapping[str, str], *, now: Callable[[], float] = time.time
) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now())


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def extract_error_fields(body: Any) -> tuple[str, str | None, str | None, str | None]:
    """Return ``(message, code, type, request_id)`` from any provider error body shape.

    Shapes: OpenAI ``{error: {message, type, code}}``; Anthropic ``{type: error, error:
    {type, message}, request_id}``; Google ``{error: {code, message, status}}`` (also as a
    one-element list); Cohere/others ``{message}`` or ``{detail}``; a bare string.
    """
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, str):
        return body.strip()[:2000] or "empty error body", None, None, None
    if not isinstance(body, dict):
        return "empty error body", None, None, None
    request_id = _text(body.get("request_id"))
    err = body.get("error")
    if isinstance(err, dict):
        message = _text(err.get("message")) or _text(body.get("message")) or "provider error"
        code = _text(err.get("status")) or _text(err.get("code"))
        etype = _text(err.get("type"))
        if code is not None and code.isdigit() and etype is None:
            etype = None
        meta = err.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("raw"), str):
            message = f"{message}: {meta['raw'][:500]}"
        return message, code, etype, request_id
    if isinstance(err, str):
        return err, _text(body.get("code")), _text(body.get("type")), request_id
    message = (
        _text(body.get("message")) or _text(body.get("detail")) or _text(body.get("msg"))
        or "provider error"
    )
    return message, _text(body.get("code")), _text(body.get("type")), request_id


def provider_error(
    *,
    status: int | None,
    body: Any,
    headers: Mapping[str, str] | None = None,
    provider: str | None = None,
    model: str | None = None,
    by_error_code: Mapping[str, str] | None = None,
    by_http_status: Mapping[str, str] | None = None,
    request_id_headers: tuple[str, ...] = ("x-request-id", "request-id"),
) -> ProviderError:
    """Build the typed error for a failed response or an in-stream error frame."""
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    message, code, etype, request_id = extract_error_fields(body)
    if request_id is None:
        for name in request_id_headers:
            if name in hdrs:
                request_id = hdrs[name]
                break
    row = classify(
        status,
        provider_code=code,
        provider_type=etype,
        message=message,
        by_error_code=by_error_code,
        by_http_status=by_http_status,
    )
    return ProviderError(
        message,
        code=row.code,
        status=status,
        provider=provider,
        model=model,
        request_id=request_id,
        retry_after=parse_retry_after(hdrs),
        provider_code=code,
        provider_type=etype,
        body=body,
        headers=hdrs,
    )
