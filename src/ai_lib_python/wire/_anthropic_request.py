"""Anthropic Messages: request encoding.

System text goes to the top-level ``system`` field; tool results travel as
``tool_result`` blocks in a user turn; consecutive turns of one role are merged,
as the API requires alternation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ai_lib_python.errors import ConfigurationError
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
from ai_lib_python.wire._common import tool_choice_name

THINKING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}


def _source(block: ImageBlock | DocumentBlock) -> dict[str, Any]:
    if block.url is not None:
        return {"type": "url", "url": block.url}
    return {"type": "base64", "media_type": block.media_type, "data": block.data}


def encode_block(block: ContentBlock) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ImageBlock):
        return {"type": "image", "source": _source(block)}
    if isinstance(block, DocumentBlock):
        doc: dict[str, Any] = {"type": "document", "source": _source(block)}
        if block.title:
            doc["title"] = block.title
        return doc
    if isinstance(block, ToolUseBlock):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.arguments}
    if isinstance(block, ToolResultBlock):
        res: dict[str, Any] = {"type": "tool_result", "tool_use_id": block.tool_call_id,
                               "content": block.content}
        if block.is_error:
            res["is_error"] = True
        return res
    if isinstance(block, ThinkingBlock):
        if block.redacted is not None:
            return {"type": "redacted_thinking", "data": block.redacted}
        out: dict[str, Any] = {"type": "thinking", "thinking": block.thinking}
        if block.signature:
            out["signature"] = block.signature
        return out
    if isinstance(block, AudioBlock):
        raise ConfigurationError("Anthropic messages do not accept audio input")
    raise ConfigurationError(f"cannot encode {block!r} for Anthropic")  # pragma: no cover


def encode_messages(messages: tuple[Message, ...]) -> tuple[str | None, list[dict[str, Any]]]:
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for msg in messages:
        if msg.role == "system":
            system.append(msg.text)
            continue
        if msg.role == "tool":
            if isinstance(msg.content, str):
                blocks = [encode_block(ToolResultBlock(msg.tool_call_id or "", msg.content))]
            else:
                blocks = [encode_block(b) for b in msg.content]
            role = "user"
        else:
            role = msg.role
            if isinstance(msg.content, str):
                blocks = [{"type": "text", "text": msg.content}]
            else:
                blocks = [encode_block(b) for b in msg.content
                          if not (isinstance(b, TextBlock) and not b.text)]
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    # A plain single text block is sent as a string, the API's simplest form.
    for turn in turns:
        content = turn["content"]
        if len(content) == 1 and content[0]["type"] == "text":
            turn["content"] = content[0]["text"]
    return ("\n\n".join(system) if system else None), turns


def encode_body(request: ChatRequest, params: dict[str, Any],
                options: Mapping[str, Any]) -> dict[str, Any]:
    system, turns = encode_messages(request.messages)
    body: dict[str, Any] = {"model": request.model}
    body.update(params)
    body.pop("n", None)
    if system is not None:
        body["system"] = system
    body["messages"] = turns
    if request.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            if t.description else {"name": t.name, "input_schema": t.parameters}
            for t in request.tools
        ]
    choice: dict[str, Any] | None = None
    if request.tool_choice is not None:
        name = tool_choice_name(request.tool_choice)
        if name:
            choice = {"type": "tool", "name": name}
        else:
            choice = {"type": {"required": "any"}.get(request.tool_choice, request.tool_choice)}
    if request.parallel_tool_calls is False and request.tools:
        choice = choice or {"type": "auto"}
        choice["disable_parallel_tool_use"] = True
    if choice is not None:
        body["tool_choice"] = choice
    budget = request.thinking_budget
    if budget is None and request.reasoning_effort:
        budget = THINKING_BUDGETS.get(request.reasoning_effort)
    if budget:
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        if body.get("max_tokens", 0) <= budget:
            body["max_tokens"] = budget + 4096
    body.pop("reasoning_effort", None)
    return body
