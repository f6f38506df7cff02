"""What every payload codec shares: the HTTP request spec and parameter mapping."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ai_lib_python.errors import ConfigurationError
from ai_lib_python.types import ChatRequest, DocumentBlock, ImageBlock


@dataclass(slots=True)
class HttpRequestSpec:
    """A request ready for the transport: ``path`` is relative to the base URL."""

    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    stream: bool = False


def set_path(body: dict[str, Any], dotted: str, value: Any) -> None:
    """``set_path(b, "generationConfig.temperature", 0.2)`` creates the nesting."""
    parts = dotted.split(".")
    cur = body
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = cur[part] = {}
        cur = nxt
    cur[parts[-1]] = value


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``extra`` into ``base`` (nested dicts merged, everything else replaced)."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


_NUMERIC = {
    "temperature": float, "top_p": float, "frequency_penalty": float,
    "presence_penalty": float, "max_tokens": int, "top_k": int, "seed": int, "n": int,
}


def check_params(params: Mapping[str, Any], ranges: Mapping[str, Any] | None = None) -> None:
    """Reject wrongly typed or out-of-range standard parameters before any I/O."""
    for name, kind in _NUMERIC.items():
        if name not in params:
            continue
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            kind is int and not isinstance(value, int)
        ):
            raise ConfigurationError(
                f"{name} must be {'an integer' if kind is int else 'a number'}, got {value!r}"
            )
        lo, hi = (ranges or {}).get(name, (None, None))
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ConfigurationError(f"{name}={value} is outside the provider's range "
                                     f"[{lo}, {hi}]")
    if "max_tokens" in params and params["max_tokens"] < 1:
        raise ConfigurationError("max_tokens must be at least 1")
    if "n" in params and params["n"] < 1:
        raise ConfigurationError("n must be at least 1")


def map_parameters(manifest: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """Rename standard parameters to the provider's fields and fill manifest defaults.

    Parameters the manifest does not map are dropped: a provider that does not
    accept a field never receives it.
    """
    mapping: Mapping[str, str] = getattr(manifest, "parameter_map", None) or {}
    defaults: Mapping[str, Any] = getattr(manifest, "parameter_defaults", None) or {}
    merged = dict(defaults)
    merged.update(params)
    body: dict[str, Any] = {}
    for name, value in merged.items():
        if value is None:
            continue
        target = mapping.get(name)
        if target is None:
            continue
        set_path(body, target, value)
    return body


def request_params(manifest: Any, request: ChatRequest) -> dict[str, Any]:
    params = request.standard_params()
    check_params(params, getattr(manifest, "parameter_ranges", None))
    params.pop("stream", None)
    return params


def data_url(block: ImageBlock | DocumentBlock) -> str:
    if block.url is not None:
        return block.url
    return f"data:{block.media_type};base64,{block.data}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def tool_choice_name(choice: str) -> str | None:
    """A tool_choice that names a function (anything but auto/none/required)."""
    return None if choice in ("auto", "none", "required", "any") else choice
