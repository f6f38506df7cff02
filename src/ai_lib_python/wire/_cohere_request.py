"""Cohere v2 Chat: request encoding."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ai_lib_python.types import (
    ChatRequest,
    ImageBlock,
    Message,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from ai_lib_python.wire._common import data_url, tool_choice_name
from ai_lib_python.wire._openai_request import encode_tools


def encode_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for msg in messages:
        if msg.role == "tool":
            out.append({"role": "tool", "tool_call_id": msg.tool_call_id, "content": msg.text
                        if isinstance(msg.content, str) else "".join(
                            b.content for b in msg.blocks if isinstance(b, ToolResultBlock))})
            continue
        if isinstance(msg.content, str):
            out.append({"role": msg.role, "content": msg.content})
            continue
        if msg.role == "assistant":
            item: dict[str, Any] = {"role": "assistant"}
            text = "".join(b.text for b in msg.content if isinstance(b, TextBlock))
            calls = [{"id": b.id, "type": "function",
                      "function": {"name": b.name, "arguments": json.dumps(b.arguments)}}
                     for b in msg.content if isinstance(b, ToolUseBlock)]
            if text:
                item["content"] = text
            if calls:
                item["tool_calls"] = calls
            out.append(item)
            continue
        parts: list[dict[str, Any]] = []
        for block in msg.content:
            if isinstance(block, TextBlock):
                parts.append({"type": "text", "text": block.text})
            elif isinstance(block, ImageBlock):
                parts.append({"type": "image_url", "image_url": {"url": data_url(block)}})
            elif isinstance(block, ToolResultBlock):
                out.append({"role": "tool", "tool_call_id": block.tool_call_id,
                            "content": block.content})
        if parts:
            out.append({"role": msg.role, "content": parts})
    return out


def encode_body(request: ChatRequest, params: dict[str, Any],
                options: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"model": request.model, "messages": encode_messages(request.messages)}
    body.update(params)
    encode_tools(request, body)
    if request.tool_choice is not None:
        # Cohere accepts REQUIRED or NONE; naming one tool is done by passing only it.
        name = tool_choice_name(request.tool_choice)
        if name:
            body["tools"] = [t for t in body.get("tools", []) if t["function"]["name"] == name]
            body["tool_choice"] = "REQUIRED"
        elif request.tool_choice in ("required", "any"):
            body["tool_choice"] = "REQUIRED"
        elif request.tool_choice == "none":
            body["tool_choice"] = "NONE"
        else:
            body.pop("tool_choice", None)
    fmt = request.response_format
    if fmt is not None and fmt.get("type") in ("json_object", "json_schema"):
        rf: dict[str, Any] = {"type": "json_object"}
        schema = (fmt.get("json_schema") or {}).get("schema")
        if schema:
            rf["json_schema"] = schema
        body["response_format"] = rf
    return body
