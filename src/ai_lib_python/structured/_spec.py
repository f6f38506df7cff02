"""OutputSpec: a Python type as a JSON Schema to request, and the validator of answers.

The schema is Pydantic's ``model_json_schema`` (any type a ``TypeAdapter`` accepts
works: models, dataclasses, TypedDicts, ``list[Item]``, unions). A type whose schema
is not an object is wrapped as ``{"value": ...}``, because tool inputs and OpenAI's
strict mode need an object at the top. How the schema travels to each provider
(strict ``response_format``, forced tool, ``responseSchema``, JSON mode with
instructions) is the wire format's business: see ``ai_lib_python.wire``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError, create_model

from ai_lib_python.errors import ConfigurationError
from ai_lib_python.types import ChatResponse, ToolCall

T = TypeVar("T")

_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")
WRAP_KEY = "value"


@dataclass(frozen=True, eq=False)
class OutputSpec(Generic[T]):
    """What a structured call asks for and how its answer is validated."""

    output_type: Any
    name: str
    schema: dict[str, Any]
    adapter: TypeAdapter[Any] = field(repr=False)
    strict: bool = True
    description: str | None = None
    wrapped: bool = False

    @property
    def response_format(self) -> dict[str, Any]:
        """The provider-neutral request: OpenAI's ``json_schema`` shape, which every
        wire format translates for its provider."""
        body: dict[str, Any] = {"name": self.name, "schema": self.schema, "strict": self.strict}
        if self.description:
            body["description"] = self.description
        return {"type": "json_schema", "json_schema": body}

    def extract(self, response: ChatResponse) -> tuple[str, ToolCall | None]:
        """The answer's JSON text: the arguments of a call to the output tool (the
        forced-tool route), else the text content."""
        for call in response.tool_calls:
            if call.name == self.name:
                return call.arguments_json, call
        return response.content, None

    def validate_json(self, text: str) -> T:
        """Validate answer text; raises ``pydantic.ValidationError`` when it does not fit."""
        value = self.adapter.validate_json(json_payload(text))
        if self.wrapped:
            return getattr(value, WRAP_KEY)  # type: ignore[no-any-return]
        return value  # type: ignore[no-any-return]

    def parse(self, response: ChatResponse) -> T:
        """The validated value of a response (raises ``pydantic.ValidationError``)."""
        return self.validate_json(self.extract(response)[0])


def json_payload(text: str) -> str:
    """The JSON object in ``text``: code fences and prose around it are dropped."""
    s = text.strip()
    if s.startswith("{") and s.endswith("}"):
        return s
    start, end = s.find("{"), s.rfind("}")
    if start == -1 or end < start:
        return s
    return s[start:end + 1]


def _tool_name(raw: str) -> str:
    name = _NAME_BAD.sub("_", raw).strip("_") or "output"
    return name[:64]


_CACHE: dict[tuple[Any, ...], OutputSpec[Any]] = {}


def output_spec(output_type: type[T] | Any, *, name: str | None = None, strict: bool = True,
                description: str | None = None) -> OutputSpec[T]:
    """Build (once per type and options) the spec of a structured answer."""
    key: tuple[Any, ...] = (output_type, name, strict, description)
    try:
        cached = _CACHE.get(key)
    except TypeError:  # an unhashable type annotation
        key, cached = (), None
    if cached is not None:
        return cached
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(output_type)
        schema = adapter.json_schema()
    except Exception as exc:
        raise ConfigurationError(f"cannot build a JSON Schema for {output_type!r}: {exc}") from exc
    default_name = getattr(output_type, "__name__", None) or str(schema.get("title") or "output")
    spec_name = _tool_name(name or default_name)
    wrapped = schema.get("type") != "object"
    if wrapped:
        wrapper = create_model(f"{spec_name}_output", value=(output_type, ...))  # WRAP_KEY
        adapter = TypeAdapter(wrapper)
        schema = adapter.json_schema()
    else:
        schema = dict(schema)
    if description is None and isinstance(output_type, type) and issubclass(output_type, BaseModel):
        description = schema.get("description")
    spec: OutputSpec[T] = OutputSpec(output_type, spec_name, schema, adapter, strict,
                                     description, wrapped)
    if key:
        if len(_CACHE) >= 256:
            _CACHE.clear()
        _CACHE[key] = spec
    return spec


def error_lines(error: ValidationError | ValueError) -> list[dict[str, Any]]:
    """Validation errors as plain dicts (``loc``, ``msg``, ``type``), without the input."""
    if isinstance(error, ValidationError):
        return [dict(e) for e in error.errors(include_url=False, include_input=False)]
    return [{"loc": (), "msg": str(error), "type": "json_invalid"}]


__all__ = ["OutputSpec", "ValidationError", "error_lines", "json_payload", "output_spec"]
