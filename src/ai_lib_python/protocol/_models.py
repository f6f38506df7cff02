"""Manifest models: every section as written, plus the normalized views the runtime reads.

A provider manifest comes in three shapes that this one model accepts:

* v1 (protocol 1.1/1.5): top-level ``auth``, ``payload_format``, ``parameter_mappings``,
  ``endpoints``, ``streaming.event_map[].fields``, capabilities as a boolean object;
* v1.5 as used by the compliance mocks: ``endpoint.chat``, ``endpoint.auth``, capabilities
  as a list, a ``parameters`` block;
* v2: ``endpoint.auth``, ``capabilities{required, optional, feature_flags}``,
  ``parameters`` keyed by provider field with ``alias`` back to the standard name,
  ``event_map[].extract``, ``metadata.models``.

The raw sections are kept under their manifest names (``endpoint`` is read through
``endpoint_block`` because ``endpoint(op)`` is the accessor). The runtime never reads
the raw sections: it uses the normalized accessors (``auth``, ``endpoint(op)``,
``parameter_map``, ``streaming`` ...), computed once when the model is built.

Unknown keys are kept (forward compatibility), except a key that is a near miss of a
known one (``endpont``, ``tempreature``): that is an error naming the suggestion.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ai_lib_python.errors import BY_NAME, ConfigurationError
from ai_lib_python.errors._codes import PROVIDER_CODES

# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------

STANDARD_PARAMETERS: Final = frozenset(
    {
        "temperature", "max_tokens", "stream", "top_p", "top_k", "frequency_penalty",
        "presence_penalty", "stop_sequences", "logprobs", "top_logprobs", "seed",
        "tools", "tool_choice", "response_format", "response_format_mode",
        "reasoning_effort", "system_message", "n", "parallel_tool_calls", "user",
    }
)
"""Standard request parameter names (v1/spec.yaml plus the ones manifests map)."""

CAPABILITY_NAMES: Final = frozenset(
    {
        "text", "chat", "streaming", "vision", "audio", "video", "tools",
        "function_calling", "parallel_tools", "agentic", "reasoning", "embeddings",
        "embedding", "structured_output", "batch", "image_generation", "computer_use",
        "mcp_client", "mcp_server", "stt", "tts", "rerank", "completion", "code",
        "online_search", "web_search", "speech_synthesis", "audio_generation",
        "video_generation",
    }
)
"""Capability names seen in manifests (the v2 enum plus v1/model-registry names)."""

CORE_CAPABILITIES: Final = ("text", "streaming", "tools")
"""Capabilities a list-form or v1 manifest is taken to require (the rest are optional)."""

EVENT_TYPES: Final = (
    "PartialContentDelta", "ThinkingDelta", "ToolCallStarted", "PartialToolCall",
    "ToolCallEnded", "Metadata", "UsageReport", "FinalCandidate", "StreamEnd", "StreamError",
)
EventType = Literal[
    "PartialContentDelta", "ThinkingDelta", "ToolCallStarted", "PartialToolCall",
    "ToolCallEnded", "Metadata", "UsageReport", "FinalCandidate", "StreamEnd", "StreamError",
]
DecoderFormat = Literal[
    "sse", "anthropic_sse", "openai_sse", "gemini_sse", "gemini_json", "cohere_native"
]
AuthType = Literal["bearer", "custom_header", "query_param", "none"]
RawAuthType = Literal["bearer", "api_key", "custom_header", "query_param", "none"]
RetryStrategy = Literal["exponential_backoff", "linear_backoff", "fixed_delay"]
Jitter = Literal["full", "equal", "none"]

_ID_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
_NEAR_MISS: Final = 0.85

# Feature flags implied by declared capabilities (v2 capabilities.feature_flags names).
_FLAG_FROM_CAPABILITY: Final = {
    "structured_output": "structured_output",
    "reasoning": "extended_thinking",
    "parallel_tools": "parallel_tool_calls",
    "image_generation": "image_generation",
}

# Operation -> capability it needs (client method names, snake_case).
_OPERATION_CAPABILITY: Final = {
    "chat": "text",
    "stream": "streaming",
    "tools": "tools",
    "mcp": "mcp_client",
    "mcp_list_tools": "mcp_client",
    "mcp_call_tool": "mcp_client",
    "computer_use": "computer_use",
    "reason": "reasoning",
    "reasoning": "reasoning",
    "video": "video_generation",
    "video_generate": "video_generation",
    "video_get": "video_generation",
    "embed": "embeddings",
    "embeddings": "embeddings",
    "rerank": "rerank",
    "image_generate": "image_generation",
    "transcribe": "stt",
    "speak": "tts",
    "batch": "batch",
}

# endpoints.chat.adapter / api_families.chat.request_format -> payload_format
_ADAPTER_FORMAT: Final = {
    "openai": "openai_style",
    "anthropic": "anthropic_style",
    "gemini": "gemini_style",
    "google": "gemini_style",
    "cohere_v2": "cohere_v2",
    "cohere": "cohere_v2",
    "ai21_chat": "ai21_style",
    "baidu": "baidu_style",
    "replicate": "replicate_style",
    "huggingface": "inference_api",
    "jina": "jina_api",
    "stability": "stability_api",
}
_STRATEGY_FORMAT: Final = {
    "anthropic_event_stream": "anthropic_style",
    "gemini_generate": "gemini_style",
    "openai_chat": "openai_style",
    "cohere_v2": "cohere_v2",
}
_ID_FORMAT: Final = {
    "anthropic": "anthropic_style",
    "gemini": "gemini_style",
    "google": "gemini_style",
}


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known name ``word`` is a near miss of (a likely typo), or ``None``.

    A near miss is a similarity ratio of at least 0.85 (``endpont``, ``tempreature``)
    or two swapped neighbouring letters (``fromat``), which short words need.
    """
    names = list(known)
    matches = difflib.get_close_matches(word, names, n=1, cutoff=_NEAR_MISS)
    if matches:
        return matches[0]
    for i in range(len(word) - 1):
        swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if swapped != word and swapped in names:
            return swapped
    return None


def _misspelt(key: str, suggestion: str, at: str | None = None) -> PydanticCustomError:
    return PydanticCustomError(
        "misspelt_field",
        "unknown field '{field}'; did you mean '{suggestion}'?",
        {"field": key, "suggestion": suggestion, "at": at if at is not None else key},
    )


def _check_names(names: Iterable[Any], known: frozenset[str], what: str) -> None:
    for name in names:
        if isinstance(name, str) and name not in known:
            hit = closest(name, known)
            if hit is not None:
                raise PydanticCustomError(
                    "misspelt_name",
                    "unknown {what} '{name}'; did you mean '{suggestion}'?",
                    {"what": what, "name": name, "suggestion": hit, "at": name},
                )


def _str_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------
# Raw sections
# ---------------------------------------------------------------------------


_KNOWN_KEYS: dict[type, frozenset[str]] = {}


class _Section(BaseModel):
    """A manifest section: unknown keys are kept, near misses of known keys are errors."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @classmethod
    def known_keys(cls) -> frozenset[str]:
        """The keys this section defines, as written in a manifest."""
        known = _KNOWN_KEYS.get(cls)
        if known is None:
            known = frozenset((info.alias or name) for name, info in cls.model_fields.items())
            _KNOWN_KEYS[cls] = known
        return known

    @model_validator(mode="before")
    @classmethod
    def _reject_near_misses(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            known = cls.known_keys()
            for key in data:
                if isinstance(key, str) and key not in known:
                    hit = closest(key, known)
                    if hit is not None:
                        raise _misspelt(key, hit)
        return data


class ExtraHeader(_Section):
    name: str
    value: str


def _headers_to_dict(value: Any) -> Any:
    """``extra_headers`` as a list of ``{name, value}`` or a plain mapping."""
    if isinstance(value, Mapping):
        return [{"name": str(k), "value": v} for k, v in value.items()]
    return value


class AuthBlock(_Section):
    """``auth`` (v1) or ``endpoint.auth`` (v2)."""

    type: RawAuthType = "bearer"
    token_env: str | None = None
    key_env: str | None = None
    header: str | None = None
    header_name: str | None = None
    prefix: str | None = None
    param_name: str | None = None
    extra_headers: list[ExtraHeader] = Field(default_factory=list)
    payload_format: str | None = None

    @field_validator("extra_headers", mode="before")
    @classmethod
    def headers_as_list(cls, value: Any) -> Any:
        return _headers_to_dict(value) if value is not None else []

    @model_validator(mode="after")
    def _complete(self) -> AuthBlock:
        if self.type in ("custom_header", "api_key") and not (self.header or self.header_name):
            raise PydanticCustomError(
                "auth_header",
                "auth type '{type}' needs 'header' (the HTTP header that carries the key)",
                {"type": self.type, "at": "header"},
            )
        if self.type == "query_param" and not self.param_name:
            raise PydanticCustomError(
                "auth_param",
                "auth type 'query_param' needs 'param_name' (the URL query parameter)",
                {"at": "param_name"},
            )
        return self


class EndpointEntry(_Section):
    """``endpoints.<op>``: ``{path, method, adapter}`` or a bare absolute URL."""

    path: str
    method: str = "POST"
    adapter: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_url(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"path": data}
        return data


class ServiceEntry(_Section):
    path: str
    method: str = "GET"
    response_binding: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)


class EndpointBlock(_Section):
    """``endpoint``: base URL, flat path shortcuts (v2/mocks) and ``auth`` (v2)."""

    base_url: str
    protocol: str | None = None
    timeout_ms: int | None = Field(default=None, ge=1)
    chat: str | None = None
    embeddings: str | None = None
    images: str | None = None
    stt: str | None = None
    tts: str | None = None
    rerank: str | None = None
    stream_chat: str | None = None
    auth: AuthBlock | None = None
    endpoints: dict[str, EndpointEntry] = Field(default_factory=dict)


class ApiFamilyEntry(_Section):
    request_format: str | None = None
    response_format: str | None = None


class ParameterBlock(_Section):
    """One entry of v2 ``parameters`` (keyed by the provider's body field)."""

    type: str | None = None
    range: tuple[float, float] | None = None
    default: Any = None
    min: float | None = None
    max: float | None = None
    required: bool = False
    alias: str | None = None
    enum: list[Any] | None = None
    deprecated: Any = None
    description: str | None = None


class DecoderBlock(_Section):
    format: DecoderFormat | None = None
    strategy: str | None = None
    delimiter: str | None = None
    prefix: str | None = None
    done_signal: str | None = None


class EventRuleBlock(_Section):
    match: str
    emit: EventType
    fields: dict[str, Any] | None = None
    extract: dict[str, Any] | None = None
    foreach: str | None = None


class CandidateBlock(_Section):
    candidate_id_path: str
    fan_out: bool = False


class AccumulatorBlock(_Section):
    stateful_tool_parsing: bool = False
    key_path: str | None = None
    flush_on: str | None = None


class StreamingBlock(_Section):
    event_format: str | None = None
    decoder: DecoderBlock | None = None
    frame_selector: str | None = None
    event_map: list[EventRuleBlock] = Field(default_factory=list)
    candidate: CandidateBlock | None = None
    accumulator: AccumulatorBlock | None = None
    stop_condition: str | None = None
    content_path: str | None = None
    tool_call_path: str | None = None
    usage_path: str | None = None
    extra_metadata_path: str | None = None
    stream_options: dict[str, Any] | None = None


class TerminationBlock(_Section):
    source_field: str | None = None
    mapping: dict[str, str] = Field(default_factory=dict)
    notes: list[str] | str | None = None

    @field_validator("mapping", mode="before")
    @classmethod
    def string_keys(cls, value: Any) -> Any:
        return _str_keys(value) or {}


def canonical_class(name: str) -> str | None:
    """A standard error class name for ``name``, accepting provider code spellings
    (``insufficient_quota`` -> ``quota_exhausted``); ``None`` when unknown."""
    if name in BY_NAME:
        return name
    return PROVIDER_CODES.get(name)


def _check_classes(value: dict[str, str]) -> dict[str, str]:
    for key, name in value.items():
        if canonical_class(name) is None:
            hit = closest(name, BY_NAME)
            hint = f"; did you mean '{hit}'?" if hit else ""
            raise PydanticCustomError(
                "error_class",
                "unknown error class '{name}'{hint} (standard classes: {known})",
                {"name": name, "hint": hint, "known": ", ".join(sorted(BY_NAME)), "at": key},
            )
    return value


class ErrorClassificationBlock(_Section):
    by_http_status: dict[str, str] = Field(default_factory=dict)
    by_error_code: dict[str, str] = Field(default_factory=dict)
    by_error_status: dict[str, str] = Field(default_factory=dict)
    by_message_contains: dict[str, str] = Field(default_factory=dict)
    retry_after_extraction: dict[str, Any] | None = None
    notes: list[str] | str | None = None

    @field_validator(
        "by_http_status", "by_error_code", "by_error_status", "by_message_contains",
        mode="before",
    )
    @classmethod
    def string_keys(cls, value: Any) -> Any:
        return _str_keys(value) or {}

    @field_validator(
        "by_http_status", "by_error_code", "by_error_status", "by_message_contains",
        mode="after",
    )
    @classmethod
    def known_classes(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_classes(value)


class RetryPolicyBlock(_Section):
    strategy: RetryStrategy = "exponential_backoff"
    max_retries: int = Field(default=3, ge=0)
    min_delay_ms: int = Field(default=1000, ge=0)
    max_delay_ms: int = Field(default=30000, ge=0)
    jitter: Jitter = "full"
    retry_on_http_status: list[int] = Field(default_factory=list)
    retry_on_error_status: list[str] = Field(default_factory=list)
    retry_on_error_code: list[str] = Field(default_factory=list)
    notes: list[str] | str | None = None


class MultiCandidateBlock(_Section):
    support_type: Literal["native", "simulated"]
    param_name: str | None = None
    max_concurrent: int | None = Field(default=None, ge=1)


class FeaturesBlock(_Section):
    """v1 ``features`` (multi_candidate, response_mapping); v2 adds boolean flags (extras)."""

    multi_candidate: MultiCandidateBlock | None = None
    response_mapping: dict[str, Any] = Field(default_factory=dict)


class CheckBlock(_Section):
    method: str = "GET"
    path: str
    expected_status: list[int] = Field(default_factory=lambda: [200])
    timeout_ms: int | None = Field(default=None, ge=1)

    @field_validator("expected_status", mode="before")
    @classmethod
    def one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) else value


class AvailabilityBlock(_Section):
    required: bool = False
    regions: list[str] = Field(default_factory=list)
    check: CheckBlock | None = None
    interval_ms: int | None = None
    fallback: Any = None
    notes: list[str] | str | None = None


_V2_CAPABILITY_KEYS: Final = frozenset({"required", "optional", "feature_flags", "tool_calling"})


class CapabilitiesBlock(_Section):
    """Capabilities in any of the three forms, kept apart by ``form``.

    List form ``[chat, streaming]`` -> ``listed``; v1 boolean object -> ``flags``;
    v2 ``{required, optional, feature_flags, tool_calling}`` -> those fields.
    """

    form: Literal["list", "v1", "v2"] = "v2"
    listed: list[str] = Field(default_factory=list)
    flags: dict[str, bool] = Field(default_factory=dict)
    required: list[str] = Field(default_factory=list)
    optional: list[str] = Field(default_factory=list)
    feature_flags: dict[str, bool] = Field(default_factory=dict)
    tool_calling: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _route(cls, data: Any) -> Any:
        if isinstance(data, CapabilitiesBlock):
            return data
        if isinstance(data, (list, tuple)):
            _check_names(data, CAPABILITY_NAMES, "capability")
            return {"form": "list", "listed": list(data)}
        if isinstance(data, Mapping):
            if "form" in data:
                return data
            keys = {str(k) for k in data}
            if keys & _V2_CAPABILITY_KEYS:
                for key in keys - _V2_CAPABILITY_KEYS:
                    hit = closest(key, _V2_CAPABILITY_KEYS)
                    if hit is not None:
                        raise _misspelt(key, hit)
                _check_names(data.get("required") or [], CAPABILITY_NAMES, "capability")
                _check_names(data.get("optional") or [], CAPABILITY_NAMES, "capability")
                return {"form": "v2", **data}
            _check_names(keys, CAPABILITY_NAMES, "capability")
            return {"form": "v1", "flags": dict(data)}
        raise PydanticCustomError(
            "capabilities_shape",
            "capabilities must be a list of names or a mapping (got {kind})",
            {"kind": type(data).__name__},
        )

    def names(self) -> frozenset[str]:
        if self.form == "list":
            out = set(self.listed)
        elif self.form == "v1":
            out = {k for k, v in self.flags.items() if v}
        else:
            out = set(self.required) | set(self.optional)
        if "chat" in out:
            out.add("text")
        return frozenset(out)


class ModelInfo(_Section):
    """One entry of v2 ``metadata.models``."""

    context_window: int | None = None
    max_output_tokens: int | None = None
    release_date: str | None = None
    status: str | None = None
    pricing: dict[str, float | None] | None = None
    capabilities: list[str] = Field(default_factory=list)
    modalities: Any = None
    thinking: Any = None
    request_defaults: dict[str, Any] | None = None
    verification: dict[str, Any] | None = None
    notes: str | list[str] | None = None

    @field_validator("release_date", mode="before")
    @classmethod
    def date_text(cls, value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime.date) else value


class MetadataBlock(_Section):
    models: dict[str, ModelInfo] = Field(default_factory=dict)


# ---------------------------------------------------------------------------
# Normalized views (what the runtime reads)
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """Where an operation goes. ``path`` is relative to ``base_url`` or an absolute URL;
    it may contain ``{model}`` placeholders."""

    path: str
    method: str = "POST"
    stream_path: str | None = None


@dataclass(frozen=True, slots=True)
class AuthSpec:
    """How a credential is attached, normalized from ``endpoint.auth`` or ``auth``."""

    type: AuthType = "bearer"
    header: str = "Authorization"
    prefix: str = "Bearer"
    param_name: str | None = None
    token_envs: tuple[str, ...] = ()
    extra_headers: dict[str, str] = field(default_factory=dict)
    shadowed_envs: tuple[str, ...] = ()
    """Env names of a top-level ``auth`` block that ``endpoint.auth`` overrides (ignored)."""


@dataclass(frozen=True, slots=True)
class RetrySpec:
    """The manifest's ``retry_policy``: how many retries, which delays, on which errors."""

    max_retries: int = 3
    min_delay_ms: int = 1000
    max_delay_ms: int = 30000
    strategy: RetryStrategy = "exponential_backoff"
    jitter: Jitter = "full"
    retry_on_http_status: tuple[int, ...] = ()
    retry_on_error_status: tuple[str, ...] = ()
    retry_on_error_code: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DecoderSpec:
    """How a streamed body is cut into frames (``sse``, ``json_lines``, ``json_array``)."""

    format: str = "sse"
    strategy: str | None = None
    delimiter: str | None = None
    prefix: str | None = None
    done_signal: str | None = None


@dataclass(frozen=True, slots=True)
class CandidateSpec:
    """Where a stream says which candidate a frame belongs to (``n > 1``)."""

    candidate_id_path: str
    fan_out: bool = False


@dataclass(frozen=True, slots=True)
class AccumulatorSpec:
    """How tool-call fragments of a stream are keyed and assembled."""

    stateful_tool_parsing: bool = False
    key_path: str | None = None
    flush_on: str | None = None


@dataclass(frozen=True, slots=True)
class EventRule:
    """One ``event_map`` rule. ``fields`` merges v1 ``fields`` and v2 ``extract``."""

    match: str
    emit: str
    fields: dict[str, Any] = field(default_factory=dict)
    foreach: str | None = None


@dataclass(frozen=True, slots=True)
class StreamingSpec:
    """The ``streaming`` block: decoder, frame selector, event map and stop condition."""

    decoder: DecoderSpec | None = None
    event_format: str | None = None
    frame_selector: str | None = None
    event_map: tuple[EventRule, ...] = ()
    candidate: CandidateSpec | None = None
    accumulator: AccumulatorSpec | None = None
    stop_condition: str | None = None
    content_path: str | None = None
    tool_call_path: str | None = None
    usage_path: str | None = None
    extra_metadata_path: str | None = None
    stream_options: dict[str, Any] | None = None
    """Merged into the body of streamed requests (e.g. OpenAI include_usage)."""


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A health-check request: path, method and the statuses that mean healthy."""

    path: str
    method: str = "GET"
    expected_status: tuple[int, ...] = (200,)
    timeout_ms: int | None = None


@dataclass(frozen=True, slots=True)
class AvailabilitySpec:
    """The ``availability`` block: regions and the health check of a provider."""

    required: bool = False
    regions: tuple[str, ...] = ()
    check: CheckSpec | None = None


@dataclass(frozen=True, slots=True)
class MultiCandidateSpec:
    """How a provider returns several candidates: natively (``n``) or simulated."""

    support_type: Literal["native", "simulated"]
    param_name: str | None = None
    max_concurrent: int | None = None


@dataclass(frozen=True, slots=True)
class _View:
    base_url: str | None
    payload_format: str
    endpoints: dict[str, EndpointSpec]
    services: dict[str, EndpointSpec]
    auth: AuthSpec
    parameter_map: dict[str, str]
    parameter_defaults: dict[str, Any]
    parameter_ranges: dict[str, tuple[float | None, float | None]]
    parameter_required: frozenset[str]
    termination_map: dict[str, str]
    error_by_code: dict[str, str]
    error_by_status: dict[str, str]
    retry: RetrySpec | None
    streaming: StreamingSpec | None
    capabilities: frozenset[str]
    feature_flags: dict[str, bool]
    rate_limit_headers: dict[str, str]
    availability: AvailabilitySpec | None
    multi_candidate: MultiCandidateSpec | None
    timeout_ms: int | None
    notices: tuple[str, ...]


# ---------------------------------------------------------------------------
# Capability helpers
# ---------------------------------------------------------------------------


def derive_feature_flags(capabilities: Iterable[str]) -> dict[str, bool]:
    """Feature flags implied by declared capabilities (``reasoning`` -> ``extended_thinking``)."""
    names = set(capabilities)
    return {flag: True for cap, flag in _FLAG_FROM_CAPABILITY.items() if cap in names}


def capability_tiers(capabilities: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split a flat capability list into v2 ``(required, optional)``.

    The core capabilities (text, streaming, tools) are required, everything else
    optional; ``chat`` counts as ``text``. Order follows the input.
    """
    required: list[str] = []
    optional: list[str] = []
    for raw in capabilities:
        name = "text" if raw == "chat" else raw
        bucket = required if name in CORE_CAPABILITIES else optional
        if name not in bucket:
            bucket.append(name)
    return tuple(required), tuple(optional)


def capability_for_operation(operation: str) -> str:
    """The capability an operation needs (``mcp_list_tools`` -> ``mcp_client``).

    Accepts snake_case or CamelCase names (``MCPListTools``, ``VideoGenerate``).
    """
    key = operation
    if not operation.islower():
        key = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", operation).lower()
    if key in _OPERATION_CAPABILITY:
        return _OPERATION_CAPABILITY[key]
    if key in CAPABILITY_NAMES:
        return key
    raise ConfigurationError(
        f"unknown operation '{operation}'",
        hint="known operations: " + ", ".join(sorted(_OPERATION_CAPABILITY)),
    )


def capability_error(
    provider: str, capability: str, operation: str | None = None
) -> ConfigurationError:
    """The E1005 error raised before any I/O when a manifest does not declare a capability."""
    if operation:
        what = f"'{operation}' needs capability '{capability}'"
    else:
        what = f"capability '{capability}' is required"
    err = ConfigurationError(
        f"{what}, which provider '{provider}' does not declare",
        hint=f"add '{capability}' to the manifest's capabilities or use another provider",
    )
    err.code = "E1005"
    return err


# ---------------------------------------------------------------------------
# The manifest
# ---------------------------------------------------------------------------


class ProtocolManifest(_Section):
    """A provider manifest (v1, v1.5 or v2), validated, immutable after load."""

    schema_: str | None = Field(default=None, alias="$schema")
    id: str
    protocol_version: str
    name: str | None = None
    version: str | None = None
    status: str | None = None
    category: str | None = None
    official_url: str | None = None
    support_contact: str | None = None
    provider_id: str | None = None
    aliases: list[str] = Field(default_factory=list)
    notes: list[str] | str | None = None
    core: dict[str, Any] | None = None

    endpoint_block: EndpointBlock | None = Field(default=None, alias="endpoint")
    base_url_legacy: str | None = Field(default=None, alias="base_url")
    base_url_template: str | None = None
    connection_vars: dict[str, Any] = Field(default_factory=dict)
    auth_block: AuthBlock | None = Field(default=None, alias="auth")
    payload_format_raw: str | None = Field(default=None, alias="payload_format")
    api_families: dict[str, ApiFamilyEntry] = Field(default_factory=dict)
    default_api_family: str | None = None
    endpoints: dict[str, EndpointEntry] = Field(default_factory=dict)
    services: dict[str, ServiceEntry] = Field(default_factory=dict)

    parameter_mappings: dict[str, str] = Field(default_factory=dict)
    parameters: dict[str, ParameterBlock] = Field(default_factory=dict)
    response_format: str | None = None
    payload_options: dict[str, Any] = Field(default_factory=dict)
    """Options of the payload codec for this provider, e.g. ``reasoning_field``: the
    assistant-message field that sends reasoning back (DeepSeek ``reasoning_content``)."""
    response_paths: dict[str, str] = Field(default_factory=dict)
    streaming_block: StreamingBlock | None = Field(default=None, alias="streaming")
    termination: TerminationBlock | None = None
    tooling: dict[str, Any] | None = None
    retry_policy: RetryPolicyBlock | None = None
    error_classification: ErrorClassificationBlock | None = None
    rate_limit_header_block: dict[str, str | None] = Field(
        default_factory=dict, alias="rate_limit_headers"
    )
    features: FeaturesBlock | None = None
    capabilities_block: CapabilitiesBlock | None = Field(default=None, alias="capabilities")
    availability_block: AvailabilityBlock | None = Field(default=None, alias="availability")
    experimental_features: list[str] = Field(default_factory=list)

    multimodal: dict[str, Any] | None = None
    computer_use: dict[str, Any] | None = None
    mcp: dict[str, Any] | None = None
    context_policy: dict[str, Any] | None = None
    provider_contract: dict[str, Any] | None = None
    capability_profile: Any = None
    guardrails: dict[str, Any] | None = None
    pricing: dict[str, Any] | None = None
    metadata: MetadataBlock | None = None

    _view: _View = PrivateAttr()
    _source: str | None = PrivateAttr(default=None)
    _runtime_cache: dict[str, Any] = PrivateAttr(default_factory=dict)
    _notices: list[str] = PrivateAttr(default_factory=list)
    _schema_warnings: list[str] | None = PrivateAttr(default=None)
    _raw: Any = PrivateAttr(default=None)

    # -- input shaping -----------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise PydanticCustomError(
                "manifest_shape",
                "a manifest must be a mapping of fields (got {kind})",
                {"kind": type(data).__name__},
            )
        out = dict(data)
        core = out.get("core")
        if isinstance(core, Mapping):  # draft layout: sections grouped under ``core``
            for key, value in core.items():
                out.setdefault(str(key), value)
        version = out.get("protocol_version")
        if isinstance(version, (int, float)) and not isinstance(version, bool):
            out["protocol_version"] = str(version)
        families = out.get("api_families")
        if isinstance(families, list):
            out["api_families"] = {str(f): {} for f in families}
        return out

    @field_validator(
        "parameter_mappings", "response_paths", "rate_limit_header_block", mode="before"
    )
    @classmethod
    def string_keys(cls, value: Any) -> Any:
        return _str_keys(value) or {}

    @field_validator("id")
    @classmethod
    def _id_pattern(cls, value: str) -> str:
        if not _ID_PATTERN.match(value):
            raise PydanticCustomError(
                "provider_id",
                "provider id '{value}' must be 2-64 characters of a-z, 0-9, '-' or '_', "
                "starting with a letter or digit",
                {"value": value},
            )
        return value

    @field_validator("parameter_mappings")
    @classmethod
    def _mapping_names(cls, value: dict[str, str]) -> dict[str, str]:
        _check_names(value, STANDARD_PARAMETERS, "standard parameter")
        return value

    @field_validator("parameters")
    @classmethod
    def _parameter_names(cls, value: dict[str, ParameterBlock]) -> dict[str, ParameterBlock]:
        _check_names(
            (spec.alias or key for key, spec in value.items()),
            STANDARD_PARAMETERS,
            "standard parameter",
        )
        return value

    @model_validator(mode="after")
    def _normalize(self) -> ProtocolManifest:
        if not (self.endpoint_block or self.base_url_legacy or self.base_url_template):
            raise PydanticCustomError(
                "missing_endpoint",
                "required field is missing (endpoint.base_url: https://...)",
                {"at": "endpoint"},
            )
        self._view = _build_view(self)
        self._notices = list(self._view.notices)
        return self

    # -- identity ----------------------------------------------------------

    @property
    def source(self) -> str | None:
        """Where the manifest was loaded from (file path, URL or ``embedded:<id>``)."""
        return self._source

    @property
    def runtime_cache(self) -> dict[str, Any]:
        """Per-manifest cache for compiled runtime plans (owned by the runtime)."""
        return self._runtime_cache

    @property
    def warnings(self) -> list[str]:
        """Non-fatal findings: loader notices plus schema findings (computed on first use)."""
        if self._schema_warnings is None:
            from ai_lib_python.protocol._validator import schema_warnings

            raw = self._raw if self._raw is not None else self.model_dump(
                by_alias=True, exclude_unset=True
            )
            self._schema_warnings = schema_warnings(raw)
        return [*self._notices, *self._schema_warnings]

    # -- normalized accessors ----------------------------------------------

    @property
    def base_url(self) -> str | None:
        return self._view.base_url

    @property
    def timeout_ms(self) -> int | None:
        return self._view.timeout_ms

    @property
    def payload_format(self) -> str:
        return self._view.payload_format

    def endpoint(self, op: str) -> EndpointSpec | None:
        """The endpoint of operation ``op`` (``chat``, ``embeddings``, ``mcp_call_tool`` ...)."""
        return self._view.endpoints.get(op)

    def service(self, name: str) -> EndpointSpec | None:
        """A helper call from ``services`` (``list_models`` ...)."""
        return self._view.services.get(name)

    @property
    def operations(self) -> frozenset[str]:
        return frozenset(self._view.endpoints)

    @property
    def auth(self) -> AuthSpec:
        return self._view.auth

    @property
    def parameter_map(self) -> dict[str, str]:
        return self._view.parameter_map

    @property
    def parameter_defaults(self) -> dict[str, Any]:
        return self._view.parameter_defaults

    @property
    def parameter_ranges(self) -> dict[str, tuple[float | None, float | None]]:
        return self._view.parameter_ranges

    @property
    def parameter_required(self) -> frozenset[str]:
        return self._view.parameter_required

    @property
    def termination_map(self) -> dict[str, str]:
        return self._view.termination_map

    @property
    def error_by_code(self) -> dict[str, str]:
        return self._view.error_by_code

    @property
    def error_by_status(self) -> dict[str, str]:
        return self._view.error_by_status

    @property
    def retry(self) -> RetrySpec | None:
        return self._view.retry

    @property
    def streaming(self) -> StreamingSpec | None:
        return self._view.streaming

    @property
    def capabilities(self) -> frozenset[str]:
        return self._view.capabilities

    @property
    def feature_flags(self) -> dict[str, bool]:
        """v2 ``capabilities.feature_flags`` (derived from the capability names in v1)."""
        return self._view.feature_flags

    @property
    def text_tool_fallback(self) -> bool:
        """Whether the model may write tool calls as text (v2
        ``capabilities.tool_calling.text_fallback``): responses are then parsed for them."""
        block = self.capabilities_block
        tool_calling = block.tool_calling if block is not None else None
        return isinstance(tool_calling, dict) and bool(tool_calling.get("text_fallback"))

    @property
    def rate_limit_headers(self) -> dict[str, str]:
        return self._view.rate_limit_headers

    @property
    def availability(self) -> AvailabilitySpec | None:
        return self._view.availability

    @property
    def multi_candidate(self) -> MultiCandidateSpec | None:
        return self._view.multi_candidate

    @property
    def models(self) -> dict[str, ModelInfo]:
        return self.metadata.models if self.metadata is not None else {}

    # -- capability checks -------------------------------------------------

    def has_capability(self, name: str) -> bool:
        return name in self._view.capabilities

    def capability_tiers(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Declared capabilities as v2 ``(required, optional)``."""
        block = self.capabilities_block
        if block is not None and block.form == "v2":
            return tuple(block.required), tuple(block.optional)
        if block is None:
            return (), ()
        names = block.listed if block.form == "list" else [k for k, v in block.flags.items() if v]
        return capability_tiers(names)

    def require_capability(self, name: str, *, operation: str | None = None) -> None:
        """Raise the E1005 :class:`ConfigurationError` unless ``name`` is declared."""
        if name not in self._view.capabilities:
            raise capability_error(self.id, name, operation)

    def require_operation(self, operation: str) -> None:
        """Guard an operation (``MCPListTools``, ``computer_use`` ...) before any I/O."""
        self.require_capability(capability_for_operation(operation), operation=operation)

    @property
    def mcp_integration_method(self) -> Literal["native_api", "tool_bridge", "not_supported"]:
        """How MCP tools reach the model: the provider's own MCP tool, or bridged as tools."""
        contract = (self.provider_contract or {}).get("capability_contracts") or {}
        declared = (contract.get("mcp") or {}).get("integration_method")
        if declared in ("native_api", "tool_bridge", "not_supported"):
            return declared  # type: ignore[no-any-return]
        if not self.has_capability("mcp_client"):
            return "not_supported"
        client = (self.mcp or {}).get("client") or {}
        mapping = client.get("provider_mapping") or {}
        if client.get("supported") and (mapping.get("tool_type") or mapping.get("api_endpoint")):
            return "native_api"
        return "tool_bridge"


# ---------------------------------------------------------------------------
# Normalization (runs once per manifest)
# ---------------------------------------------------------------------------


def _auth_spec(m: ProtocolManifest) -> tuple[AuthSpec, list[str]]:
    notices: list[str] = []
    top = m.auth_block
    inner = m.endpoint_block.auth if m.endpoint_block is not None else None
    block = inner or top
    shadowed: tuple[str, ...] = ()
    if inner is not None and top is not None:
        shadowed = tuple(e for e in (top.token_env, top.key_env) if e)
        if (top.type, top.token_env, top.key_env) != (inner.type, inner.token_env, inner.key_env):
            names = ", ".join(shadowed) or "no env"
            notices.append(
                f"top-level 'auth' ({top.type}, {names}) is shadowed by 'endpoint.auth' and "
                "ignored; remove it"
            )
    if block is None:
        return AuthSpec(), notices
    envs = tuple(dict.fromkeys(e for e in (block.token_env, block.key_env) if e))
    extra = {h.name: h.value for h in block.extra_headers}
    raw_type = block.type
    if raw_type == "bearer":
        spec = AuthSpec(
            type="bearer",
            header=block.header or block.header_name or "Authorization",
            prefix=block.prefix if block.prefix is not None else "Bearer",
            token_envs=envs,
            extra_headers=extra,
            shadowed_envs=shadowed,
        )
    elif raw_type in ("api_key", "custom_header"):
        spec = AuthSpec(
            type="custom_header",
            header=block.header or block.header_name or "",
            prefix=block.prefix or "",
            token_envs=envs,
            extra_headers=extra,
            shadowed_envs=shadowed,
        )
    elif raw_type == "query_param":
        spec = AuthSpec(
            type="query_param",
            header="",
            prefix="",
            param_name=block.param_name,
            token_envs=envs,
            extra_headers=extra,
            shadowed_envs=shadowed,
        )
    else:
        spec = AuthSpec(type="none", header="", prefix="", extra_headers=extra)
    return spec, notices


def _endpoints(m: ProtocolManifest) -> dict[str, EndpointSpec]:
    out: dict[str, EndpointSpec] = {}
    block = m.endpoint_block
    if block is not None:
        for op in ("chat", "embeddings", "images", "stt", "tts", "rerank", "stream_chat"):
            path = getattr(block, op)
            if path:
                out[op] = EndpointSpec(path=path)
        for op, entry in block.endpoints.items():
            out[op] = EndpointSpec(path=entry.path, method=entry.method.upper())
    for op, entry in m.endpoints.items():
        out[op] = EndpointSpec(path=entry.path, method=entry.method.upper())
    if "chat" not in out and _payload_format(m) == "openai_style":
        # OpenAI-compatible manifests often omit the path: it is the family's standard one.
        out["chat"] = EndpointSpec(path="/chat/completions")
    stream = out.get("stream_chat")
    chat = out.get("chat")
    if chat is not None and stream is not None:
        out["chat"] = EndpointSpec(chat.path, chat.method, stream.path)
    return out


def _payload_format(m: ProtocolManifest) -> str:
    if m.payload_format_raw:
        return m.payload_format_raw
    if m.auth_block is not None and m.auth_block.payload_format:
        return m.auth_block.payload_format
    chat = m.endpoints.get("chat")
    if chat is not None and chat.adapter in _ADAPTER_FORMAT:
        return _ADAPTER_FORMAT[chat.adapter]
    family = m.api_families.get("chat")
    if family is not None and family.request_format in _ADAPTER_FORMAT:
        return _ADAPTER_FORMAT[family.request_format]
    decoder = m.streaming_block.decoder if m.streaming_block is not None else None
    if decoder is not None and decoder.strategy in _STRATEGY_FORMAT:
        return _STRATEGY_FORMAT[decoder.strategy]
    return _ID_FORMAT.get(m.id, "openai_style")


def _parameters(
    m: ProtocolManifest,
) -> tuple[dict[str, str], dict[str, Any], dict[str, tuple[float | None, float | None]],
           frozenset[str]]:
    pmap: dict[str, str] = dict(m.parameter_mappings)
    defaults: dict[str, Any] = {}
    ranges: dict[str, tuple[float | None, float | None]] = {}
    required: set[str] = set()
    for provider_field, spec in m.parameters.items():
        standard = spec.alias or provider_field
        pmap.setdefault(standard, provider_field)
        if spec.default is not None:
            defaults[standard] = spec.default
        lo, hi = spec.range if spec.range is not None else (spec.min, spec.max)
        if spec.min is not None:
            lo = spec.min
        if spec.max is not None:
            hi = spec.max
        if lo is not None or hi is not None:
            ranges[standard] = (lo, hi)
        if spec.required:
            required.add(standard)
    return pmap, defaults, ranges, frozenset(required)


def _streaming(block: StreamingBlock | None) -> StreamingSpec | None:
    if block is None:
        return None
    dec = block.decoder
    decoder = (
        DecoderSpec(
            format=dec.format or "sse",
            strategy=dec.strategy,
            delimiter=dec.delimiter,
            prefix=dec.prefix,
            done_signal=dec.done_signal,
        )
        if dec is not None
        else None
    )
    rules = tuple(
        EventRule(
            match=r.match,
            emit=r.emit,
            fields={**(r.fields or {}), **(r.extract or {})},
            foreach=r.foreach,
        )
        for r in block.event_map
    )
    cand = block.candidate
    acc = block.accumulator
    return StreamingSpec(
        decoder=decoder,
        event_format=block.event_format,
        frame_selector=block.frame_selector,
        event_map=rules,
        candidate=CandidateSpec(cand.candidate_id_path, cand.fan_out) if cand else None,
        accumulator=(
            AccumulatorSpec(acc.stateful_tool_parsing, acc.key_path, acc.flush_on)
            if acc
            else None
        ),
        stop_condition=block.stop_condition,
        content_path=block.content_path,
        tool_call_path=block.tool_call_path,
        usage_path=block.usage_path,
        extra_metadata_path=block.extra_metadata_path,
        stream_options=dict(block.stream_options) if block.stream_options else None,
    )


_KNOWN_VERSIONS: Final = ("1.0", "1.1", "1.5", "2.0")


def _build_view(m: ProtocolManifest) -> _View:
    auth, notices = _auth_spec(m)
    if m.protocol_version not in _KNOWN_VERSIONS:
        notices.append(
            f"protocol_version {m.protocol_version!r} is not one this runtime was built for "
            f"({', '.join(_KNOWN_VERSIONS)}); fields it does not know are ignored"
        )
    pmap, defaults, ranges, required = _parameters(m)
    ec = m.error_classification
    by_code: dict[str, str] = {}
    by_status: dict[str, str] = {}
    if ec is not None:
        merged = {**ec.by_error_status, **ec.by_error_code}
        by_code = {k: canonical_class(v) or v for k, v in merged.items()}
        by_status = {k: canonical_class(v) or v for k, v in ec.by_http_status.items()}
    rp = m.retry_policy
    retry = (
        RetrySpec(
            max_retries=rp.max_retries,
            min_delay_ms=rp.min_delay_ms,
            max_delay_ms=rp.max_delay_ms,
            strategy=rp.strategy,
            jitter=rp.jitter,
            retry_on_http_status=tuple(rp.retry_on_http_status),
            retry_on_error_status=tuple(rp.retry_on_error_status),
            retry_on_error_code=tuple(rp.retry_on_error_code),
        )
        if rp is not None
        else None
    )
    caps = m.capabilities_block.names() if m.capabilities_block is not None else frozenset()
    flags = derive_feature_flags(caps)
    if m.capabilities_block is not None:
        flags.update(m.capabilities_block.feature_flags)
    av = m.availability_block
    availability = (
        AvailabilitySpec(
            required=av.required,
            regions=tuple(av.regions),
            check=(
                CheckSpec(
                    path=av.check.path,
                    method=av.check.method.upper(),
                    expected_status=tuple(av.check.expected_status),
                    timeout_ms=av.check.timeout_ms,
                )
                if av.check is not None
                else None
            ),
        )
        if av is not None
        else None
    )
    mc = m.features.multi_candidate if m.features is not None else None
    base_url = (
        m.endpoint_block.base_url if m.endpoint_block is not None else m.base_url_legacy
    )
    return _View(
        base_url=base_url,
        payload_format=_payload_format(m),
        endpoints=_endpoints(m),
        services={
            name: EndpointSpec(path=s.path, method=s.method.upper())
            for name, s in m.services.items()
        },
        auth=auth,
        parameter_map=pmap,
        parameter_defaults=defaults,
        parameter_ranges=ranges,
        parameter_required=required,
        termination_map=dict(m.termination.mapping) if m.termination is not None else {},
        error_by_code=by_code,
        error_by_status=by_status,
        retry=retry,
        streaming=_streaming(m.streaming_block),
        capabilities=caps,
        feature_flags=flags,
        rate_limit_headers={k: v for k, v in m.rate_limit_header_block.items() if v},
        availability=availability,
        multi_candidate=(
            MultiCandidateSpec(mc.support_type, mc.param_name, mc.max_concurrent)
            if mc is not None
            else None
        ),
        timeout_ms=m.endpoint_block.timeout_ms if m.endpoint_block is not None else None,
        notices=tuple(notices),
    )


# ---------------------------------------------------------------------------
# Model registries (v1/models/*.yaml) and provider contracts (v2/contracts)
# ---------------------------------------------------------------------------


class ModelPricing(_Section):
    input_per_token: float | None = None
    output_per_token: float | None = None


class ModelEntry(_Section):
    """One model of a v1 model registry file."""

    provider: str
    model_id: str
    display_name: str | None = None
    name: str | None = None
    verification: dict[str, Any] | None = None
    capabilities: list[str] = Field(default_factory=list)
    context_window: int | None = None
    status: str | None = None
    tags: list[str] = Field(default_factory=list)
    pricing: ModelPricing | None = None
    modality: Any = None
    agentic_capabilities: dict[str, Any] | None = None
    dimensions: int | None = None


class ModelRegistry(_Section):
    """A v1 model registry file: ``models: {key: {provider, model_id, ...}}``."""

    schema_: str | None = Field(default=None, alias="$schema")
    protocol_version: str
    models: dict[str, ModelEntry]

    _source: str | None = PrivateAttr(default=None)

    @field_validator("protocol_version", mode="before")
    @classmethod
    def version_text(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return value

    @property
    def source(self) -> str | None:
        return self._source


class ProviderContract(_Section):
    """A v2 provider contract (``v2/contracts/*.contract.yaml``), loosely typed."""

    schema_: str | None = Field(default=None, alias="$schema")
    contract_version: str
    provider_id: str
    api_style: str
    api_version: str | None = None
    request_mapping: dict[str, Any]
    response_mapping: dict[str, Any]
    capability_contracts: dict[str, Any] = Field(default_factory=dict)
    authentication_contract: dict[str, Any] = Field(default_factory=dict)

    @property
    def document_mapping(self) -> dict[str, Any]:
        """``request_mapping.content_block_mapping.document`` (empty when absent)."""
        blocks = self.request_mapping.get("content_block_mapping") or {}
        doc = blocks.get("document") or {}
        return dict(doc) if isinstance(doc, Mapping) else {}


# ---------------------------------------------------------------------------
# Error rendering (shared by the loader and the validator)
# ---------------------------------------------------------------------------


def error_paths(exc: ValidationError, data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """Turn Pydantic errors into ``(data path, message)`` pairs.

    The path follows the input document (aliases, list indices), skipping Pydantic's
    internal union tags, so it can be shown to a manifest author and mapped to a line.
    """
    out: list[tuple[tuple[str | int, ...], str]] = []
    for err in exc.errors(include_url=False):
        loc = err.get("loc", ())
        path: list[str | int] = []
        node: Any = data
        for i, part in enumerate(loc):
            last = i == len(loc) - 1
            if isinstance(node, Mapping) and part in node:  # noqa: SIM114 (narrows per type)
                path.append(part)
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                path.append(part)
                node = node[part]
            elif last and isinstance(part, (str, int)) and err.get("type") == "missing":
                path.append(part)
        ctx = err.get("ctx") or {}
        at = ctx.get("at")
        if isinstance(at, (str, int)) and (not path or path[-1] != at):
            path.append(at)
        message = str(err.get("msg", "invalid value"))
        if err.get("type") == "literal_error":
            message = f"{message} (got {err.get('input')!r})"
        elif err.get("type") == "missing":
            message = "required field is missing"
        out.append((tuple(path), message))
    return out


def format_path(path: Iterable[str | int]) -> str:
    """``('streaming', 'event_map', 2, 'emit')`` -> ``streaming.event_map[2].emit``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
