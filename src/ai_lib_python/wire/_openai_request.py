"""OpenAI Chat Completions: request encoding (also every OpenAI-compatible provider)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ai_lib_python.types import (
    AudioBlock,
    ChatRequest,
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from ai_lib_python.wire._common import data_url, tool_choice_name


def _part(block: ContentBlock) -> dict[str, Any] | None:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ImageBlock):
        image: dict[str, Any] = {"url": data_url(block)}
        if block.detail:
            image["detail"] = block.detail
        return {"type": "image_url", "image_url": image}
    if isinstance(block, AudioBlock):
        return {"type": "input_audio", "input_audio": {"data": block.data, "format": block.format}}
    if isinstance(block, DocumentBlock):
        file: dict[str, Any] = {"file_data": data_url(block)}
        file["filename"] = block.title or "document.pdf"
        return {"type": "file", "file": file}
    return None


def encode_messages(messages: tuple[Message, ...],
                    reasoning_field: str | None = None) -> list[dict[str, Any]]:
    """Messages in Chat Completions form. ``reasoning_field`` names the assistant field
    that carries reasoning back, for providers that require it (DeepSeek)."""
    out: list[dict[str, Any]] = []
    for msg in messages:
        if msg.role == "tool":
            out.append({"role": "tool", "tool_call_id": msg.tool_call_id,
                        "content": msg.text if isinstance(msg.content, str) else
                        "".join(b.content for b in msg.blocks if isinstance(b, ToolResultBlock))})
            continue
        if isinstance(msg.content, str):
            item: dict[str, Any] = {"role": msg.role, "content": msg.content}
            if msg.name:
                item["name"] = msg.name
            if msg.metadata:
                item["metadata"] = msg.metadata
            out.append(item)
            continue
        if msg.role == "assistant":
            text = "".join(b.text for b in msg.content if isinstance(b, TextBlock))
            calls = [
                {"id": b.id, "type": "function",
                 "function": {"name": b.name,
                              "arguments": json.dumps(b.arguments, ensure_ascii=False)}}
                for b in msg.content if isinstance(b, ToolUseBlock)
            ]
            item = {"role": "assistant", "content": text if text or not calls else None}
            if calls:
                item["tool_calls"] = calls
            if reasoning_field:
                thought = "".join(b.thinking for b in msg.content if isinstance(b, ThinkingBlock))
                if thought:
                    item[reasoning_field] = thought
            out.append(item)
            continue
        parts: list[dict[str, Any]] = []
        results: list[ToolResultBlock] = []
        for block in msg.content:
            if isinstance(block, ToolResultBlock):
                results.append(block)
            elif isinstance(block, ThinkingBlock):
                continue
            else:
                part = _part(block)
                if part is not None:
                    parts.append(part)
        for res in results:  # tool results inside a user message become tool messages
            out.append({"role": "tool", "tool_call_id": res.tool_call_id, "content": res.content})
        if parts:
            item = {"role": msg.role, "content": parts}
            if msg.name:
                item["name"] = msg.name
            out.append(item)
    return out


def encode_tools(request: ChatRequest, body: dict[str, Any]) -> None:
    if request.tools:
        tools = []
        for t in request.tools:
            fn: dict[str, Any] = {"name": t.name, "parameters": t.parameters}
            if t.description:
                fn["description"] = t.description
            if t.strict is not None:
                fn["strict"] = t.strict
            tools.append({"type": "function", "function": fn})
        body["tools"] = tools
    choice = request.tool_choice
    if choice is not None:
        name = tool_choice_name(choice)
        body["tool_choice"] = (
            {"type": "function", "function": {"name": name}} if name else
            ("required" if choice == "any" else choice)
        )


def encode_body(request: ChatRequest, params: dict[str, Any],
                options: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": request.model,
        "messages": encode_messages(request.messages, options.get("reasoning_field")),
    }
    body.update(params)
    encode_tools(request, body)
    if request.response_format is not None:
        body["response_format"] = request.response_format
    return body
