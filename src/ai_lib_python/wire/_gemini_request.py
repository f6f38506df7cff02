"""Gemini generateContent: request encoding.

Roles become ``user``/``model``; system text goes to ``systemInstruction``; tool
results are ``functionResponse`` parts that name the function, so the name is
looked up from the assistant turn that made the call.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Any

from ai_lib_python._json import loads
from ai_lib_python.types import (
    AudioBlock,
    ChatRequest,
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    Message,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from ai_lib_python.wire._common import tool_choice_name

THINKING_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}
# JSON Schema keywords the Gemini `parameters` schema does not accept.
_UNSUPPORTED_SCHEMA_KEYS = frozenset(
    ("$schema", "$id", "additionalProperties", "title", "default", "examples", "$defs",
     "definitions", "strict")
)


def clean_schema(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: ({name: clean_schema(s) for name, s in v.items()}  # names, not keywords
                    if k == "properties" and isinstance(v, dict) else clean_schema(v))
                for k, v in schema.items() if k not in _UNSUPPORTED_SCHEMA_KEYS}
    if isinstance(schema, list):
        return [clean_schema(v) for v in schema]
    return schema


def _media(block: ImageBlock | DocumentBlock) -> dict[str, Any]:
    if block.data is not None:
        return {"inlineData": {"mimeType": block.media_type, "data": block.data}}
    mime = block.media_type or mimetypes.guess_type(block.url or "")[0] or "image/jpeg"
    return {"fileData": {"mimeType": mime, "fileUri": block.url}}


def _result_payload(content: str) -> dict[str, Any]:
    try:
        value = loads(content)
    except ValueError:
        return {"result": content}
    return value if isinstance(value, dict) else {"result": value}


def encode_part(block: ContentBlock, names: dict[str, str]) -> dict[str, Any] | None:
    if isinstance(block, TextBlock):
        return {"text": block.text} if block.text else None
    if isinstance(block, (ImageBlock, DocumentBlock)):
        return _media(block)
    if isinstance(block, AudioBlock):
        return {"inlineData": {"mimeType": f"audio/{block.format}", "data": block.data}}
    if isinstance(block, ToolUseBlock):
        call: dict[str, Any] = {"name": block.name, "args": block.arguments}
        part: dict[str, Any] = {"functionCall": call}
        if block.signature:
            part["thoughtSignature"] = block.signature
        return part
    if isinstance(block, ToolResultBlock):
        name = block.name or names.get(block.tool_call_id, block.tool_call_id)
        return {"functionResponse": {"name": name, "response": _result_payload(block.content)}}
    # ThinkingBlock: thought text is not sent back; signatures ride on their parts.
    return None


def encode_contents(
    messages: tuple[Message, ...],
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    system: list[str] = []
    names: dict[str, str] = {}
    contents: list[dict[str, Any]] = []
    for msg in messages:
        if msg.role == "system":
            system.append(msg.text)
            continue
        if msg.role == "tool":
            blocks: tuple[ContentBlock, ...] = (
                (ToolResultBlock(msg.tool_call_id or "", msg.content, msg.name),)
                if isinstance(msg.content, str) else msg.content
            )
            role = "user"
        else:
            blocks = msg.blocks
            role = "model" if msg.role == "assistant" else "user"
        parts = []
        for block in blocks:
            if isinstance(block, ToolUseBlock):
                names[block.id] = block.name
            part = encode_part(block, names)
            if part is not None:
                parts.append(part)
        if not parts:
            if msg.role == "assistant":
                continue
            parts = [{"text": ""}]  # an empty user turn is still a turn
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    instruction = {"parts": [{"text": "\n\n".join(system)}]} if system else None
    return instruction, contents


def encode_body(request: ChatRequest, params: dict[str, Any],
                options: Mapping[str, Any]) -> dict[str, Any]:
    instruction, contents = encode_contents(request.messages)
    body: dict[str, Any] = {"contents": contents}
    if instruction is not None:
        body["systemInstruction"] = instruction
    body.update(params)
    if request.tools:
        decls = []
        for t in request.tools:
            decl: dict[str, Any] = {"name": t.name, "description": t.description}
            if t.parameters.get("properties"):
                decl["parameters"] = clean_schema(t.parameters)
            decls.append(decl)
        body["tools"] = [{"functionDeclarations": decls}]
    if request.tool_choice is not None:
        name = tool_choice_name(request.tool_choice)
        mode = {"auto": "AUTO", "none": "NONE", "required": "ANY", "any": "ANY"}.get(
            request.tool_choice, "ANY")
        config: dict[str, Any] = {"mode": mode}
        if name:
            config["allowedFunctionNames"] = [name]
        body["toolConfig"] = {"functionCallingConfig": config}
    gen = body.setdefault("generationConfig", {})
    fmt = request.response_format
    if fmt is not None:
        if fmt.get("type") in ("json_object", "json_schema"):
            gen["responseMimeType"] = "application/json"
        schema = (fmt.get("json_schema") or {}).get("schema")
        if schema:
            gen["responseSchema"] = clean_schema(schema)
    budget = request.thinking_budget
    if budget is None and request.reasoning_effort:
        budget = THINKING_BUDGETS.get(request.reasoning_effort)
    if budget:
        gen["thinkingConfig"] = {"thinkingBudget": budget, "includeThoughts": True}
    if not gen:
        del body["generationConfig"]
    return body
