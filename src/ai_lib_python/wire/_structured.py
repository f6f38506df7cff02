"""Structured output per payload format: how a ``json_schema`` response format travels.

A request asks for structured output in OpenAI's neutral shape,
``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`` (what
``ChatRequestBuilder.output()`` and ``.response_format()`` produce). Right before
encoding, :func:`prepare_output` rewrites it for the target's payload format and
what its manifest declares (capability ``structured_output``)::

    payload format    declares structured_output           otherwise
    openai_style      json_schema, schema in strict dialect  json_object + instructions
    gemini_style      responseMimeType + responseSchema       responseMimeType + instructions
    cohere_v2         json_object + json_schema              json_object + instructions
    anthropic_style   a forced tool named after the schema (needs the tools capability;
                      without it, instructions only)

Each target of a fallback chain is prepared for itself. The answer comes back as
text, or (forced tool) as the arguments of a call to the tool the schema names.
"""

from __future__ import annotations

import json
from typing import Any

from ai_lib_python.errors import ConfigurationError
from ai_lib_python.types import ChatRequest, Message, ToolDefinition

JSON_ONLY = ("Answer with a single JSON object and nothing else: no prose before or after "
             "it, no code fences.")

# Keys whose value is a schema, a list of schemas, or a map of name -> schema.
_SCHEMA_KEYS = frozenset(("items", "additionalProperties", "not", "contains", "if", "then",
                          "else", "propertyNames", "unevaluatedItems",
                          "unevaluatedProperties"))
_SCHEMA_LISTS = frozenset(("anyOf", "allOf", "oneOf", "prefixItems"))
_SCHEMA_MAPS = frozenset(("properties", "$defs", "definitions", "patternProperties",
                          "dependentSchemas"))

_GEMINI_KEYS = frozenset(("type", "format", "description", "nullable", "enum", "properties",
                          "required", "items", "minItems", "maxItems", "minimum", "maximum",
                          "anyOf", "propertyOrdering"))
_GEMINI_FORMATS = {"string": {"enum", "date-time"}, "number": {"float", "double"},
                   "integer": {"int32", "int64"}}


class _Unsupported(Exception):
    """The schema cannot be expressed in the target's dialect."""


def _has(manifest: Any, capability: str) -> bool:
    caps = getattr(manifest, "capabilities", None) or ()
    flags = getattr(manifest, "feature_flags", None) or {}
    return capability in caps or bool(flags.get(capability))


def prepare_output(manifest: Any, request: ChatRequest) -> ChatRequest:
    """``request`` with its response format translated for ``manifest``'s wire format."""
    fmt = request.response_format
    if not fmt:
        return request
    family = str(getattr(manifest, "payload_format", None) or "openai_style")
    kind = fmt.get("type")
    if kind == "json_object":
        if family == "anthropic_style":  # no JSON mode: say it
            return with_instruction(request.with_(response_format=None), JSON_ONLY)
        return request
    spec = fmt.get("json_schema")
    if kind != "json_schema" or not isinstance(spec, dict) or not isinstance(
            spec.get("schema"), dict):
        return request
    schema: dict[str, Any] = spec["schema"]
    if family == "anthropic_style":
        if _has(manifest, "tools"):
            return _forced_tool(request, spec)
        return _json_mode(request, schema, json_object=False)
    if not _has(manifest, "structured_output"):
        return _json_mode(request, schema)
    if family == "openai_style":
        strict = bool(spec.get("strict", True))
        sent = strict_schema(schema) if strict else None
        out = {**spec, "schema": sent if sent is not None else schema,
               "strict": sent is not None}
        return request.with_(response_format={"type": "json_schema", "json_schema": out})
    if family == "gemini_style":
        gemini = gemini_schema(schema)
        if gemini is None:
            return _json_mode(request, schema)
        return request.with_(response_format={"type": "json_schema",
                                              "json_schema": {**spec, "schema": gemini}})
    if family == "cohere_v2":
        try:
            schema = inline_refs(schema)
        except _Unsupported:
            return _json_mode(request, schema)
        return request.with_(response_format={"type": "json_schema",
                                              "json_schema": {**spec, "schema": schema}})
    return request


def with_instruction(request: ChatRequest, text: str) -> ChatRequest:
    """Add a system message after the leading system messages."""
    messages = list(request.messages)
    k = 0
    while k < len(messages) and messages[k].role == "system":
        k += 1
    messages.insert(k, Message("system", text))
    return request.with_(messages=tuple(messages))


def _json_mode(request: ChatRequest, schema: dict[str, Any], *,
               json_object: bool = True) -> ChatRequest:
    text = (f"{JSON_ONLY} It must conform to this JSON Schema:\n"
            f"{json.dumps(schema, ensure_ascii=False, separators=(',', ':'))}")
    changed = request.with_(response_format={"type": "json_object"} if json_object else None)
    return with_instruction(changed, text)


def _forced_tool(request: ChatRequest, spec: dict[str, Any]) -> ChatRequest:
    name = str(spec.get("name") or "output")
    if any(t.name == name for t in request.tools):
        raise ConfigurationError(
            f"the structured output {name!r} has the name of a tool of this request",
            hint="pass output(..., name='...') with another name")
    schema = spec["schema"]
    try:
        schema = inline_refs(schema)
    except _Unsupported:
        pass  # recursive: keep $defs / $ref, which tool input schemas accept
    tool = ToolDefinition(name, str(spec.get("description") or
                                    "Give the final answer as the input of this tool."), schema)
    changed = request.with_(tools=(*request.tools, tool), response_format=None,
                            tool_choice=name)
    if request.thinking_budget or request.reasoning_effort:
        # With extended thinking the API accepts only tool_choice auto or none.
        changed = with_instruction(changed.with_(tool_choice="auto"),
                                   f"Give your final answer by calling the {name} tool.")
    return changed


# -- JSON Schema dialects -----------------------------------------------------------------
def _ref_target(ref: Any, defs: dict[str, Any]) -> tuple[str, Any] | None:
    if not isinstance(ref, str):
        return None
    for prefix in ("#/$defs/", "#/definitions/"):
        if ref.startswith(prefix):
            name = ref[len(prefix):]
            return (name, defs[name]) if name in defs else None
    return None


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with local ``$ref``s replaced by their definitions (raises on recursion)."""
    defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}

    def walk(node: Any, seen: frozenset[str]) -> Any:
        if isinstance(node, list):
            return [walk(v, seen) for v in node]
        if not isinstance(node, dict):
            return node
        target = _ref_target(node.get("$ref"), defs)
        if target is not None:
            name, definition = target
            if name in seen:
                raise _Unsupported(f"recursive definition {name!r}")
            inner = walk(definition, seen | {name})
            siblings = {k: walk(v, seen) for k, v in node.items() if k != "$ref"}
            return {**inner, **siblings}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("$defs", "definitions"):
                continue
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {k: walk(v, seen) for k, v in value.items()}
            elif key in _SCHEMA_KEYS or key in _SCHEMA_LISTS:
                out[key] = walk(value, seen)
            else:
                out[key] = value
        return out

    result: dict[str, Any] = walk(schema, frozenset())
    return result


def strict_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """OpenAI strict dialect: every object closed (``additionalProperties: false``) with
    all its properties required, no defaults, ``oneOf`` as ``anyOf``. ``None`` when the
    schema cannot be strict (free-form objects such as ``dict[str, int]``)."""
    defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}

    def walk(node: Any, depth: int) -> Any:
        if isinstance(node, list):
            return [walk(v, depth) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node and len(node) > 1:  # strict mode refuses keywords beside $ref
            target = _ref_target(node["$ref"], defs)
            if target is None or depth > 32:
                raise _Unsupported("unresolvable $ref")
            merged = {**target[1], **{k: v for k, v in node.items() if k != "$ref"}}
            return walk(merged, depth + 1)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("default", "discriminator"):
                continue
            name = "anyOf" if key == "oneOf" else key
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                out[name] = {k: walk(v, depth) for k, v in value.items()}
            elif key in _SCHEMA_KEYS or key in _SCHEMA_LISTS:
                out[name] = walk(value, depth)
            else:
                out[name] = value
        types = out.get("type")
        if types == "object" or (isinstance(types, list) and "object" in types) or (
                "properties" in out):
            if out.get("additionalProperties") not in (None, False) or "properties" not in out:
                raise _Unsupported("free-form object")
            out["additionalProperties"] = False
            out["required"] = list(out["properties"])
        return out

    try:
        result: dict[str, Any] = walk(schema, 0)
    except _Unsupported:
        return None
    return result


def gemini_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """Gemini ``responseSchema`` subset: references inlined, ``anyOf`` with null as
    ``nullable``, ``const`` as ``enum``, only the keywords Gemini accepts, and
    ``propertyOrdering`` in declaration order. ``None`` when the schema does not fit
    (recursion, free-form objects, tuples)."""

    def walk(node: Any) -> dict[str, Any]:
        if not isinstance(node, dict):
            raise _Unsupported("not a schema")
        node = dict(node)
        if "oneOf" in node:
            node["anyOf"] = [*node.pop("anyOf", []), *node.pop("oneOf")]
        all_of = node.pop("allOf", None)
        if all_of:
            if len(all_of) != 1:
                raise _Unsupported("allOf")
            node = {**all_of[0], **node}
        nullable = bool(node.pop("nullable", False))
        types = node.get("type")
        if isinstance(types, list):
            rest = [t for t in types if t != "null"]
            nullable = nullable or len(rest) < len(types)
            if len(rest) != 1:
                raise _Unsupported("several types")
            node["type"] = rest[0]
        any_of = node.pop("anyOf", None)
        if any_of is not None:
            variants = [v for v in any_of if v != {"type": "null"}]
            nullable = nullable or len(variants) < len(any_of)
            if len(variants) == 1:
                node = {**variants[0], **node}
                return walk({**node, "nullable": nullable} if nullable else node)
            if variants:
                node["anyOf"] = [walk(v) for v in variants]
        if "const" in node:
            node["enum"] = [node.pop("const")]
        if "enum" in node:
            if all(isinstance(v, str) for v in node["enum"]):
                node.setdefault("type", "string")
            else:
                del node["enum"]
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {k: walk(v) for k, v in value.items()}
            elif key == "items":
                out[key] = walk(value)
            elif key in _GEMINI_KEYS:
                out[key] = value
        fmt = out.get("format")
        if fmt is not None and fmt not in _GEMINI_FORMATS.get(str(out.get("type")), ()):
            del out["format"]
        if nullable:
            out["nullable"] = True
        if out.get("type") == "object":
            if not out.get("properties"):
                raise _Unsupported("free-form object")
            out.setdefault("propertyOrdering", list(out["properties"]))
        if out.get("type") == "array" and "items" not in out:
            raise _Unsupported("array without items")
        return out

    try:
        return walk(inline_refs(schema))
    except _Unsupported:
        return None
