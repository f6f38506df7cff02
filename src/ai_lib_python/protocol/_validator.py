"""Manifest validation: strict where the runtime depends on a field, advisory elsewhere.

Three layers, in order:

1. required fields (``id``, ``protocol_version``, a base URL) and the typed models
   (wrong types, unknown enum values, near-miss keys) -> errors;
2. ``capability_profile`` staging rules (ios_v1 / iospc_v1) -> errors;
3. the official JSON Schemas (vendored under ``schemas/``) -> warnings, because the
   stored schemas reject several manifests the protocol itself treats as valid
   (``capabilities.tool_calling``, ``aliases``, v1.5 ``endpoint.chat`` ...).

Schemas are compiled lazily, once per schema, with fastjsonschema.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import ValidationError

from ai_lib_python.errors import ProtocolError
from ai_lib_python.protocol._models import (
    ModelRegistry,
    ProtocolManifest,
    ProviderContract,
    error_paths,
    format_path,
)

Kind = Literal["provider", "model_registry", "contract", "content_block_mapping"]
PathT = tuple[str | int, ...]

_SCHEMA_URL_MARK: Final = "/schemas/"
_CONTRACT_URL: Final = (
    "https://raw.githubusercontent.com/ailib-official/ai-protocol/main/schemas/v2/"
    "provider-contract.json"
)
_PROFILE_KEYS: Final = frozenset(
    {"phase", "inputs", "outcomes", "systems", "process", "contract", "future_reserved"}
)

try:  # the C parser is several times faster; fall back to the pure-Python one
    _YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _YamlLoader = yaml.SafeLoader


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating one document (or, with ``files``, a directory)."""

    source: str
    kind: str
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    files: tuple[ValidationReport, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors and all(f.ok for f in self.files)


@dataclass(frozen=True)
class Finding:
    path: PathT
    message: str
    line: int | None = None

    def render(self) -> str:
        where = format_path(self.path)
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} (line {self.line})" if self.line else text


@dataclass
class _Outcome:
    errors: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    value: Any = None


# ---------------------------------------------------------------------------
# Parsing and line lookup
# ---------------------------------------------------------------------------


def parse_document(text: str, source: str) -> Any:
    """Parse YAML or JSON text; a syntax error becomes a ProtocolError with the line."""
    if source.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProtocolError(
                f"malformed JSON: {exc.msg} (column {exc.colno})", source=source, line=exc.lineno
            ) from None
    try:
        return yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        context_mark = getattr(exc, "context_mark", None)
        if context and context_mark is not None and context_mark is not mark:
            context = f"{context} (from line {context_mark.line + 1})"
        detail = f"{context}: {problem}" if context else str(problem)
        raise ProtocolError(
            f"malformed YAML: {detail}",
            source=source,
            line=mark.line + 1 if mark is not None else None,
        ) from None


def line_of(text: str | None, path: Iterable[str | int]) -> int | None:
    """1-based line of the node at ``path`` in a YAML/JSON document (best effort)."""
    if not text:
        return None
    try:
        node = yaml.compose(text, Loader=_YamlLoader)
    except yaml.YAMLError:
        return None
    line: int | None = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == str(part):
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


# ---------------------------------------------------------------------------
# JSON Schemas (lazy)
# ---------------------------------------------------------------------------


def _schema_file(relative: str) -> Any:
    ref = resources.files("ai_lib_python.protocol").joinpath("schemas", *relative.split("/"))
    return json.loads(ref.read_text(encoding="utf-8"))


def _handler(uri: str) -> Any:
    base = uri.split("#", 1)[0]
    if _SCHEMA_URL_MARK not in base:
        raise ProtocolError(f"schema reference outside the vendored schemas: {uri}")
    return _schema_file(base.split(_SCHEMA_URL_MARK, 1)[1])


@functools.cache
def _compiled(target: str) -> Callable[[Any], Any]:
    """Compile a vendored schema (``v1.json``) or a reference into one (``url#/pointer``)."""
    import fastjsonschema

    schema: Any = {"$ref": target} if "#" in target else _schema_file(target)
    handlers = {"https": _handler, "http": _handler}
    compiled: Callable[[Any], Any] = fastjsonschema.compile(
        schema, handlers=handlers, fast_fail=False
    )
    return compiled


def _schema_findings(target: str, data: Any) -> list[str]:
    import fastjsonschema

    try:
        _compiled(target)(data)
    except fastjsonschema.JsonSchemaValuesException as exc:
        return [_schema_message(e) for e in exc.errors]
    except fastjsonschema.JsonSchemaValueException as exc:
        return [_schema_message(exc)]
    return []


def _schema_message(exc: Any) -> str:
    text = str(getattr(exc, "message", exc))
    if text.startswith("data."):
        return text[5:]
    if text.startswith("data "):
        return "(top level) " + text[5:]
    return text


def schema_enum(schema: str, pointer: str) -> tuple[str, ...]:
    """The ``enum`` at a JSON pointer of a vendored schema (``/properties/x``)."""
    node: Any = _schema_file(schema)
    for part in pointer.strip("/").split("/"):
        node = node[part]
    return tuple(node.get("enum", ()))


def document_ref_resolutions() -> tuple[str, ...]:
    """Allowed ``content_block_mapping.document.ref_resolution`` values (provider contract)."""
    return schema_enum(
        "v2/provider-contract.json",
        "/properties/request_mapping/properties/content_block_mapping/properties/document"
        "/properties/ref_resolution",
    )


def detect_kind(data: Any) -> Kind:
    if isinstance(data, Mapping):
        if "models" in data and "id" not in data and "endpoint" not in data:
            return "model_registry"
        if "contract_version" in data or ("api_style" in data and "request_mapping" in data):
            return "contract"
    return "provider"


def schema_warnings(data: Any, kind: Kind | None = None) -> list[str]:
    """Findings of the official JSON Schema for ``data`` (advisory)."""
    kind = kind or detect_kind(data)
    if kind == "contract":
        return []  # contracts are validated strictly, see validate_contract
    if kind == "content_block_mapping":
        return []
    if kind == "model_registry":
        return [f"schema: {m}" for m in _schema_findings("v1.json", data)]
    version = str(data.get("protocol_version", "")) if isinstance(data, Mapping) else ""
    out: list[str] = []
    if version.startswith("2"):
        out += [f"schema: {m}" for m in _schema_findings("v2/provider.json", data)]
        metadata = data.get("metadata") if isinstance(data, Mapping) else None
        models = metadata.get("models") if isinstance(metadata, Mapping) else None
        if isinstance(models, Mapping):
            for name, entry in models.items():
                for m in _schema_findings("v2/metadata-model-entry.json", entry):
                    out.append(f"schema: metadata.models.{name}.{m}")
    else:
        out += [f"schema: {m}" for m in _schema_findings("v1.json", data)]
    return out


# ---------------------------------------------------------------------------
# Strict rules
# ---------------------------------------------------------------------------


def _required(data: Mapping[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    for key in ("id", "protocol_version"):
        if key not in data:
            found.append(Finding((key,), "required field is missing"))
    core = data.get("core")
    has_core_endpoint = isinstance(core, Mapping) and "endpoint" in core
    if not any(k in data for k in ("endpoint", "base_url", "base_url_template")) and not (
        has_core_endpoint
    ):
        found.append(
            Finding(("endpoint",), "required field is missing (endpoint.base_url: https://...)")
        )
    return found


def capability_profile_errors(data: Mapping[str, Any]) -> list[Finding]:
    """The staged ``capability_profile`` rules (ios_v1 vs iospc_v1)."""
    if "capability_profile" not in data:
        return []
    profile = data["capability_profile"]
    at: PathT = ("capability_profile",)
    if not isinstance(profile, Mapping):
        return [Finding(at, "capability_profile must be object")]
    found: list[Finding] = []
    phase = profile.get("phase")
    if phase is None:
        return [Finding(at, "must have required property 'phase' (ios_v1 or iospc_v1)")]
    if phase not in ("ios_v1", "iospc_v1"):
        return [
            Finding(
                (*at, "phase"),
                f"must be equal to one of the allowed values (ios_v1, iospc_v1), got {phase!r}",
            )
        ]
    for key in profile:
        if key not in _PROFILE_KEYS:
            found.append(Finding((*at, key), "must NOT have additional properties"))
    if phase == "ios_v1":
        for key in ("process", "contract"):
            if key in profile:
                found.append(
                    Finding(
                        (*at, key),
                        "must NOT have additional properties "
                        f"({key!r} belongs to phase iospc_v1, not ios_v1)",
                    )
                )
    if not any(k in profile for k in ("inputs", "outcomes", "systems")):
        found.append(
            Finding(
                at,
                "must match at least one schema in anyOf "
                "(declare inputs, outcomes or systems)",
            )
        )
    if phase == "iospc_v1" and not any(k in profile for k in ("process", "contract")):
        found.append(Finding(at, "iospc_v1 requires process or contract"))
    return found


def _model_errors(exc: ValidationError, data: Any) -> list[Finding]:
    return [Finding(path, message) for path, message in error_paths(exc, data)]


def _dedupe(found: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[PathT, str]] = set()
    out: list[Finding] = []
    for f in found:
        key = (f.path, f.message.split(" (")[0])
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _check_provider(data: Any) -> _Outcome:
    outcome = _Outcome()
    if not isinstance(data, Mapping):
        outcome.errors.append(
            Finding((), f"a manifest must be a mapping of fields, got {type(data).__name__}")
        )
        return outcome
    found: list[Finding] = []
    try:
        outcome.value = ProtocolManifest.model_validate(data)
    except ValidationError as exc:
        found += _model_errors(exc, data)
    found += _required(data)
    found += capability_profile_errors(data)
    outcome.errors = _dedupe(found)
    if outcome.errors:
        outcome.value = None
    return outcome


def _check_registry(data: Any) -> _Outcome:
    outcome = _Outcome()
    try:
        outcome.value = ModelRegistry.model_validate(data)
    except ValidationError as exc:
        outcome.errors = _model_errors(exc, data)
    return outcome


def _check_contract(data: Any) -> _Outcome:
    outcome = _Outcome()
    if not isinstance(data, Mapping):
        outcome.errors.append(Finding((), "a contract must be a mapping"))
        return outcome
    # ``$schema`` is a pointer, not content: the stored schema forbids it, every
    # official contract carries it.
    body = {k: v for k, v in data.items() if k != "$schema"}
    for message in _schema_findings("v2/provider-contract.json", body):
        outcome.errors.append(Finding((), message))
    if not outcome.errors:
        try:
            outcome.value = ProviderContract.model_validate(data)
        except ValidationError as exc:
            outcome.errors = _model_errors(exc, data)
    return outcome


def _check_fragment(data: Any) -> _Outcome:
    outcome = _Outcome()
    target = (
        f"{_CONTRACT_URL}#/properties/request_mapping/properties/content_block_mapping"
    )
    for message in _schema_findings(target, data):
        outcome.errors.append(Finding((), message))
    outcome.value = data
    return outcome


def _expression_errors(manifest: ProtocolManifest) -> list[Finding]:
    """Compile every expression and path of the streaming section (CLI depth)."""
    from ai_lib_python.protocol import _expr

    spec = manifest.streaming
    if spec is None:
        return []
    found: list[Finding] = []
    base: PathT = ("streaming",)

    def cond(text: str | None, path: PathT) -> None:
        if text:
            try:
                _expr.compile_condition(text)
            except ProtocolError as exc:
                found.append(Finding(path, exc.message))

    def path_(text: str | None, path: PathT) -> None:
        if text and text.startswith("$"):
            try:
                _expr.compile_path(text)
            except ProtocolError as exc:
                found.append(Finding(path, exc.message))

    cond(spec.frame_selector, (*base, "frame_selector"))
    cond(spec.stop_condition, (*base, "stop_condition"))
    if spec.accumulator is not None:
        cond(spec.accumulator.flush_on, (*base, "accumulator", "flush_on"))
        path_(spec.accumulator.key_path, (*base, "accumulator", "key_path"))
    if spec.candidate is not None:
        path_(spec.candidate.candidate_id_path, (*base, "candidate", "candidate_id_path"))
    for i, rule in enumerate(spec.event_map):
        cond(rule.match, (*base, "event_map", i, "match"))
        path_(rule.foreach, (*base, "event_map", i, "foreach"))
        for name, value in rule.fields.items():
            if isinstance(value, str):
                path_(value, (*base, "event_map", i, "fields", name))
    return found


# ---------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------


class Validator:
    """Validate manifest documents. Stateless; schemas are compiled once per process."""

    def validate(self, data: Any, kind: Kind = "provider") -> list[str]:
        """Errors for ``data`` (empty when valid). Schema findings are not errors."""
        return list(self.check(data, kind).errors)

    def check(
        self,
        data: Any,
        kind: Kind | None = None,
        *,
        source: str = "<data>",
        text: str | None = None,
        deep: bool = False,
    ) -> ValidationReport:
        """Errors and warnings for one document. ``deep`` also compiles expressions."""
        outcome = _run(data, kind or detect_kind(data))
        if deep and isinstance(outcome.value, ProtocolManifest):
            outcome.errors += _expression_errors(outcome.value)
        resolved = kind or detect_kind(data)
        warnings: list[str] = []
        if isinstance(outcome.value, ProtocolManifest):
            warnings = list(outcome.value._notices)
        warnings += schema_warnings(data, resolved)
        return ValidationReport(
            source=source,
            kind=resolved,
            errors=tuple(_with_lines(outcome.errors, text)),
            warnings=tuple(warnings),
        )


def _run(data: Any, kind: Kind) -> _Outcome:
    if kind == "model_registry":
        return _check_registry(data)
    if kind == "contract":
        return _check_contract(data)
    if kind == "content_block_mapping":
        return _check_fragment(data)
    return _check_provider(data)


def _with_lines(found: Iterable[Finding], text: str | None) -> list[str]:
    return [
        Finding(f.path, f.message, f.line or line_of(text, f.path)).render() for f in found
    ]


def _raise(found: list[Finding], source: str, text: str | None, what: str) -> None:
    first = found[0]
    line = first.line or line_of(text, first.path)
    rendered = _with_lines(found, text)
    message = first.message
    if len(found) > 1:
        message += f" (and {len(found) - 1} more: " + "; ".join(rendered[1:]) + ")"
    raise ProtocolError(
        f"invalid {what}: {message}",
        source=source,
        path=format_path(first.path) or None,
        line=line,
        errors=rendered,
    )


def build_manifest(data: Any, *, source: str, text: str | None = None) -> ProtocolManifest:
    """Validate ``data`` strictly and return the manifest, or raise one ProtocolError
    listing every error (file, line and field path of the first)."""
    outcome = _check_provider(data)
    if outcome.errors:
        _raise(outcome.errors, source, text, "manifest")
    manifest: ProtocolManifest = outcome.value
    manifest._source = source
    manifest._raw = data
    return manifest


def build_model_registry(data: Any, *, source: str, text: str | None = None) -> ModelRegistry:
    outcome = _check_registry(data)
    if outcome.errors:
        _raise(outcome.errors, source, text, "model registry")
    registry: ModelRegistry = outcome.value
    registry._source = source
    return registry


def build_contract(data: Any, *, source: str, text: str | None = None) -> ProviderContract:
    outcome = _check_contract(data)
    if outcome.errors:
        _raise(outcome.errors, source, text, "provider contract")
    contract: ProviderContract = outcome.value
    return contract


def load_contract(path: str | Path) -> ProviderContract:
    """Read and strictly validate a provider contract file."""
    p = Path(path)
    text = _read(p)
    return build_contract(parse_document(text, str(p)), source=str(p), text=text)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError("file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"cannot read file: {exc}", source=str(path)) from None


_DOC_SUFFIXES: Final = (".yaml", ".yml", ".json")


def validate_path(path: str | Path) -> ValidationReport:
    """Validate a manifest file, or every ``.yaml``/``.json`` file under a directory.

    Used by ``ai-lib validate PATH``. Expressions are compiled too, so a bad
    ``frame_selector`` is reported here rather than at the first streamed request.
    """
    p = Path(path)
    if p.is_dir():
        reports = tuple(
            validate_path(f)
            for f in sorted(p.rglob("*"))
            if f.is_file() and f.suffix in _DOC_SUFFIXES
        )
        return ValidationReport(source=str(p), kind="directory", files=reports)
    source = str(p)
    try:
        text = _read(p)
        data = parse_document(text, source)
    except ProtocolError as exc:
        return ValidationReport(source=source, kind="unknown", errors=(exc.message,))
    return Validator().check(data, source=source, text=text, deep=True)
