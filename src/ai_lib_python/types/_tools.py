"""Tool definitions and tool calls."""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ai_lib_python.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """A function the model may call. ``parameters`` is a JSON Schema object."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    strict: bool | None = None

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ConfigurationError("a tool needs a non-empty name")
        if not isinstance(self.parameters, dict) or self.parameters.get("type", "object") != (
            "object"
        ):
            raise ConfigurationError(
                f"tool {self.name!r}: parameters must be a JSON Schema object "
                '({"type": "object", "properties": {...}})'
            )

    @classmethod
    def from_schema(cls, name: str, parameters: dict[str, Any], description: str = "",
                    *, strict: bool | None = None) -> ToolDefinition:
        return cls(name, description, parameters, strict)

    @classmethod
    def from_model(cls, model: type[Any], *, name: str | None = None,
                   description: str | None = None) -> ToolDefinition:
        """From a Pydantic model class: its JSON schema becomes the parameters."""
        schema_fn = getattr(model, "model_json_schema", None)
        if schema_fn is None:
            raise ConfigurationError(f"{model!r} is not a Pydantic model")
        schema = dict(schema_fn())
        schema.pop("title", None)
        desc = description or schema.pop("description", None) or inspect.getdoc(model) or ""
        return cls(name or model.__name__, desc, schema)

    @classmethod
    def from_function(cls, fn: Callable[..., Any], *, name: str | None = None,
                      description: str | None = None) -> ToolDefinition:
        """From a typed Python function: parameters from its signature and annotations."""
        sig = inspect.signature(fn)
        hints = typing.get_type_hints(fn)
        props: dict[str, Any] = {}
        required: list[str] = []
        for pname, param in sig.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            props[pname] = _schema_for(hints.get(pname, Any))
            if param.default is inspect.Parameter.empty:
                required.append(pname)
            else:
                props[pname]["default"] = param.default
        params: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            params["required"] = required
        doc = inspect.getdoc(fn) or ""
        return cls(name or fn.__name__, description or doc.split("\n\n")[0], params)


_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
}


def _schema_for(tp: Any) -> dict[str, Any]:
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (list, tuple, set, frozenset):
        return {"type": "array", "items": _schema_for(args[0]) if args else {}}
    if origin is dict:
        return {"type": "object"}
    if origin in (typing.Union, types.UnionType):
        non_null = [a for a in args if a is not type(None)]
        if len(non_null) == 1:
            return _schema_for(non_null[0])
        return {"anyOf": [_schema_for(a) for a in args]}
    if hasattr(tp, "model_json_schema"):
        return dict(tp.model_json_schema())
    return {}


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the model asked for. ``arguments`` is the parsed JSON object."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw_arguments: str | None = None
    signature: str | None = None

    @property
    def arguments_json(self) -> str:
        if self.raw_arguments is not None:
            return self.raw_arguments
        return json.dumps(self.arguments, separators=(",", ":"), ensure_ascii=False)


ToolChoice = Literal["auto", "none", "required"] | str
