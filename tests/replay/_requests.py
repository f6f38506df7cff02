"""Turn a recorded provider request body into the equivalent public ChatRequest.

Each provider format has its own reader: OpenAI Chat Completions (also every
OpenAI-compatible provider), Anthropic Messages, Gemini generateContent and Cohere
v2 Chat. What the ChatRequest has a standard name for becomes that field; every
other top-level parameter the recording sent (``prompt_cache_key``,
``safetySettings``, OpenRouter ``reasoning``, z.ai ``thinking``, Anthropic
``output_config`` ...) goes through ``extra_body`` so the client sends it as is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ai_lib_python import (
    AudioBlock,
    ContentBlock,
    ImageBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolDefinition,
    ToolResultBlock,
    ToolUseBlock,
)
from ai_lib_python.types import ChatRequest
from tests.replay._corpus import Recording

Body = Mapping[str, Any]


def to_chat_request(rec: Recording) -> ChatRequest:
    """The ChatRequest a user would build to send what ``rec`` sent."""
    body: Body = rec.request["body"]
    reader = _READERS[rec.api]
    fields, extra = reader(body)
    fields.setdefault("stream", rec.is_stream)
    return ChatRequest(model=rec.model, extra_body=extra or None, **fields)


# -- shared ---------------------------------------------------------------------------


def _args(value: Any) -> dict[str, Any]:
    """Tool-call arguments: a JSON string (OpenAI) or an object."""
    if isinstance(value, str):
        parsed = json.loads(value) if value.strip() else {}
        return parsed if isinstance(parsed, dict) else {"value": parsed}
    return dict(value or {})


def _text_of(content: Any) -> str:
    """Text of a string or of a list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(
        str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text"
    )


def _message(role: Any, blocks: list[ContentBlock], **kw: Any) -> Message:
    """A message whose content is plain text when it is one text block (or none)."""
    if not blocks:
        return Message(role, "", **kw)
    if len(blocks) == 1 and isinstance(blocks[0], TextBlock):
        return Message(role, blocks[0].text, **kw)
    return Message(role, tuple(blocks), **kw)


def _image_from_url(url: str, detail: Any = None) -> ImageBlock:
    if url.startswith("data:") and ";base64," in url:
        media, _, data = url[5:].partition(";base64,")
        return ImageBlock(data=data, media_type=media, detail=detail)
    return ImageBlock(url=url, detail=detail)


def _stop(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def _copy_known(body: Body, names: Mapping[str, str], fields: dict[str, Any]) -> None:
    for wire, field in names.items():
        if body.get(wire) is not None:
            fields[field] = body[wire]


def _rest(body: Body, known: set[str]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in known}


# -- OpenAI Chat Completions ------------------------------------------------------------

_OPENAI_PARAMS = {
    "temperature": "temperature", "top_p": "top_p", "n": "n", "seed": "seed",
    "frequency_penalty": "frequency_penalty", "presence_penalty": "presence_penalty",
    "parallel_tool_calls": "parallel_tool_calls", "response_format": "response_format",
    "reasoning_effort": "reasoning_effort", "user": "user",
}
_OPENAI_KNOWN = {
    *_OPENAI_PARAMS, "model", "messages", "stream", "stream_options", "tools", "tool_choice",
    "stop", "max_tokens", "max_completion_tokens",
}


def _openai_parts(content: Any) -> list[ContentBlock]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextBlock(content)]
    blocks: list[ContentBlock] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            blocks.append(TextBlock(str(part.get("text", ""))))
        elif kind == "thinking":  # Mistral reasoning chunks
            inner = part.get("thinking")
            text = _text_of(inner) if isinstance(inner, list) else str(inner or "")
            blocks.append(ThinkingBlock(text))
        elif kind == "image_url":
            image = part.get("image_url") or {}
            blocks.append(_image_from_url(str(image.get("url")), image.get("detail")))
        elif kind == "input_audio":
            audio = part.get("input_audio") or {}
            blocks.append(AudioBlock(str(audio.get("data")), str(audio.get("format", "wav"))))
        else:
            raise ValueError(f"unsupported content part {kind!r}")
    return blocks


def _openai_message(msg: Body) -> Message:
    role = msg.get("role")
    if role in ("system", "developer"):
        return Message.system(_text_of(msg.get("content")))
    if role == "tool":
        return Message.tool(str(msg["tool_call_id"]), _text_of(msg.get("content")))
    blocks: list[ContentBlock] = []
    reasoning = msg.get("reasoning_content") or msg.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        blocks.append(ThinkingBlock(reasoning))
    blocks.extend(_openai_parts(msg.get("content")))
    for call in msg.get("tool_calls") or []:
        fn = call.get("function") or {}
        blocks.append(ToolUseBlock(str(call["id"]), str(fn["name"]), _args(fn.get("arguments"))))
    if role == "assistant" and any(isinstance(b, ToolUseBlock) for b in blocks):
        # An assistant turn that only calls tools: an empty text adds nothing.
        blocks = [b for b in blocks if not (isinstance(b, TextBlock) and not b.text)]
        return Message("assistant", tuple(blocks))
    return _message(role, blocks, name=msg.get("name"))


def _openai_tools(tools: list[Any]) -> tuple[ToolDefinition, ...]:
    out = []
    for tool in tools:
        fn = tool["function"]
        out.append(ToolDefinition(
            str(fn["name"]), str(fn.get("description") or ""),
            dict(fn.get("parameters") or {"type": "object", "properties": {}}),
            fn.get("strict"),
        ))
    return tuple(out)


def _openai_tool_choice(choice: Any) -> str | None:
    if choice is None or isinstance(choice, str):
        return choice
    return str(choice["function"]["name"])


def read_openai(body: Body) -> tuple[dict[str, Any], dict[str, Any]]:
    fields: dict[str, Any] = {
        "messages": tuple(_openai_message(m) for m in body["messages"]),
        "stream": bool(body.get("stream")),
    }
    extra = _rest(body, _OPENAI_KNOWN)
    _copy_known(body, _OPENAI_PARAMS, fields)
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    if body.get("stop") is not None:
        fields["stop"] = _stop(body["stop"])
    tools = body.get("tools") or []
    if any(t.get("type") != "function" for t in tools):
        # Provider tools (e.g. OpenRouter's web search) have no ToolDefinition form.
        extra["tools"] = tools
    elif tools:
        fields["tools"] = _openai_tools(tools)
    if body.get("tool_choice") is not None:
        fields["tool_choice"] = _openai_tool_choice(body["tool_choice"])
    return fields, extra


# -- Anthropic Messages -------------------------------------------------------------------

_ANTHROPIC_PARAMS = {
    "temperature": "temperature", "top_p": "top_p", "top_k": "top_k", "max_tokens": "max_tokens",
}
_ANTHROPIC_KNOWN = {
    *_ANTHROPIC_PARAMS, "model", "messages", "system", "stream", "tools", "tool_choice",
    "stop_sequences", "thinking",
}


def _anthropic_block(block: Body) -> ContentBlock:
    kind = block.get("type")
    if kind == "text":
        return TextBlock(str(block["text"]))
    if kind == "thinking":
        return ThinkingBlock(str(block.get("thinking", "")), block.get("signature"))
    if kind == "redacted_thinking":
        return ThinkingBlock("", redacted=str(block["data"]))
    if kind == "tool_use":
        return ToolUseBlock(str(block["id"]), str(block["name"]), dict(block.get("input") or {}))
    if kind == "tool_result":
        return ToolResultBlock(str(block["tool_use_id"]), _text_of(block.get("content")),
                               is_error=bool(block.get("is_error")))
    if kind == "image":
        src = block["source"]
        if src.get("type") == "url":
            return ImageBlock(url=str(src["url"]))
        return ImageBlock(data=str(src["data"]), media_type=str(src["media_type"]))
    raise ValueError(f"unsupported Anthropic block {kind!r}")


def read_anthropic(body: Body) -> tuple[dict[str, Any], dict[str, Any]]:
    messages: list[Message] = []
    system = body.get("system")
    if system is not None:
        messages.append(Message.system(_text_of(system)))
    for msg in body["messages"]:
        content = msg["content"]
        blocks: list[ContentBlock] = (
            [TextBlock(content)] if isinstance(content, str)
            else [_anthropic_block(b) for b in content])
        messages.append(_message(msg["role"], blocks))
    fields: dict[str, Any] = {"messages": tuple(messages), "stream": bool(body.get("stream"))}
    extra = _rest(body, _ANTHROPIC_KNOWN)
    _copy_known(body, _ANTHROPIC_PARAMS, fields)
    if body.get("stop_sequences") is not None:
        fields["stop"] = _stop(body["stop_sequences"])
    if body.get("tools"):
        fields["tools"] = tuple(
            ToolDefinition(str(t["name"]), str(t.get("description") or ""),
                           dict(t.get("input_schema") or {"type": "object", "properties": {}}))
            for t in body["tools"]
        )
    choice = body.get("tool_choice")
    if choice is not None:
        kind = choice.get("type")
        fields["tool_choice"] = {"any": "required", "tool": choice.get("name")}.get(kind, kind)
        if choice.get("disable_parallel_tool_use"):
            fields["parallel_tool_calls"] = False
    thinking = body.get("thinking")
    if isinstance(thinking, dict):
        if thinking.get("type") == "enabled" and isinstance(thinking.get("budget_tokens"), int):
            fields["thinking_budget"] = thinking["budget_tokens"]
            rest = {k: v for k, v in thinking.items() if k not in ("type", "budget_tokens")}
            if rest:
                extra["thinking"] = rest
        else:  # adaptive thinking and future forms have no standard field
            extra["thinking"] = thinking
    return fields, extra


# -- Gemini generateContent --------------------------------------------------------------

_GEMINI_GEN = {
    "temperature": "temperature", "topP": "top_p", "topK": "top_k",
    "maxOutputTokens": "max_tokens", "candidateCount": "n", "seed": "seed",
    "presencePenalty": "presence_penalty", "frequencyPenalty": "frequency_penalty",
}
_GEMINI_KNOWN = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}


def json_schema(schema: Any) -> Any:
    """A Gemini (OpenAPI-style) schema as JSON Schema: type names in lower case."""
    if isinstance(schema, dict):
        out = {k: json_schema(v) for k, v in schema.items()}
        if isinstance(out.get("type"), str):
            out["type"] = out["type"].lower()
        return out
    if isinstance(schema, list):
        return [json_schema(v) for v in schema]
    return schema


def _gemini_message(content: Body) -> Message:
    role = "assistant" if content.get("role") == "model" else "user"
    blocks: list[ContentBlock] = []
    for part in content.get("parts") or []:
        if "functionCall" in part:
            call = part["functionCall"]
            blocks.append(ToolUseBlock(str(call.get("id") or call["name"]), str(call["name"]),
                                       dict(call.get("args") or {}), part.get("thoughtSignature")))
        elif "functionResponse" in part:
            resp = part["functionResponse"]
            blocks.append(ToolResultBlock(str(resp.get("id") or resp["name"]),
                                          json.dumps(resp.get("response")), str(resp["name"])))
        elif "inlineData" in part:
            data = part["inlineData"]
            blocks.append(ImageBlock(data=str(data["data"]), media_type=str(data["mimeType"])))
        elif part.get("thought") is True:
            blocks.append(ThinkingBlock(str(part.get("text", "")), part.get("thoughtSignature")))
        elif "text" in part:
            blocks.append(TextBlock(str(part["text"])))
        else:
            raise ValueError(f"unsupported Gemini part {sorted(part)}")
    return _message(role, blocks)


def read_gemini(body: Body) -> tuple[dict[str, Any], dict[str, Any]]:
    messages: list[Message] = []
    instruction = body.get("systemInstruction")
    if instruction is not None:
        messages.append(Message.system(_text_of(
            [{"type": "text", **p} for p in instruction.get("parts") or []])))
    messages.extend(_gemini_message(c) for c in body["contents"])
    fields: dict[str, Any] = {"messages": tuple(messages)}
    extra = _rest(body, _GEMINI_KNOWN)

    declared: list[str] = []
    other_tools: list[Any] = []
    defs: list[ToolDefinition] = []
    for tool in body.get("tools") or []:
        decls = tool.get("functionDeclarations")
        if decls is None:
            other_tools.append(tool)
            continue
        for d in decls:
            schema = d.get("parameters_json_schema", d.get("parameters"))
            params = json_schema(schema) if schema else {"type": "object", "properties": {}}
            defs.append(ToolDefinition(str(d["name"]), str(d.get("description") or ""), params))
            declared.append(str(d["name"]))
    if other_tools:
        extra["tools"] = body["tools"]
    elif defs:
        fields["tools"] = tuple(defs)

    config = (body.get("toolConfig") or {}).get("functionCallingConfig")
    if config is not None:
        mode = str(config.get("mode", "AUTO")).upper()
        allowed = config.get("allowedFunctionNames")
        if mode == "AUTO":
            fields["tool_choice"] = "auto"
        elif mode == "NONE":
            fields["tool_choice"] = "none"
        elif allowed is None or sorted(allowed) == sorted(declared):
            fields["tool_choice"] = "required"
        elif len(allowed) == 1:
            fields["tool_choice"] = str(allowed[0])
        else:
            extra["toolConfig"] = body["toolConfig"]

    gen = dict(body.get("generationConfig") or {})
    _copy_known(gen, _GEMINI_GEN, fields)
    for name in _GEMINI_GEN:
        gen.pop(name, None)
    if gen.get("stopSequences") is not None:
        fields["stop"] = _stop(gen.pop("stopSequences"))
    thinking = gen.get("thinkingConfig")
    if isinstance(thinking, dict) and isinstance(thinking.get("thinkingBudget"), int):
        fields["thinking_budget"] = thinking["thinkingBudget"]
        rest = {k: v for k, v in thinking.items() if k != "thinkingBudget"}
        if rest:
            gen["thinkingConfig"] = rest
        else:
            gen.pop("thinkingConfig")
    if gen:
        extra["generationConfig"] = gen
    return fields, extra


# -- Cohere v2 Chat ----------------------------------------------------------------------

_COHERE_PARAMS = {
    "temperature": "temperature", "p": "top_p", "k": "top_k", "seed": "seed",
    "max_tokens": "max_tokens", "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
}
_COHERE_KNOWN = {*_COHERE_PARAMS, "model", "messages", "stream", "tools", "tool_choice",
                 "stop_sequences"}


def _cohere_message(msg: Body) -> Message:
    role = msg.get("role")
    content = msg.get("content")
    if role == "system":
        return Message.system(_text_of(content))
    if role == "tool":
        return Message.tool(str(msg["tool_call_id"]), _text_of(content))
    blocks: list[ContentBlock] = []
    if isinstance(content, str):
        blocks.append(TextBlock(content))
    for part in content if isinstance(content, list) else []:
        if part.get("type") == "thinking":
            blocks.append(ThinkingBlock(str(part.get("thinking", ""))))
        elif part.get("type") == "text":
            blocks.append(TextBlock(str(part.get("text", ""))))
        else:
            raise ValueError(f"unsupported Cohere content {part.get('type')!r}")
    for call in msg.get("tool_calls") or []:
        fn = call.get("function") or {}
        blocks.append(ToolUseBlock(str(call["id"]), str(fn["name"]), _args(fn.get("arguments"))))
    return _message(role, blocks)


def read_cohere(body: Body) -> tuple[dict[str, Any], dict[str, Any]]:
    fields: dict[str, Any] = {
        "messages": tuple(_cohere_message(m) for m in body["messages"]),
        "stream": bool(body.get("stream")),
    }
    extra = _rest(body, _COHERE_KNOWN)
    _copy_known(body, _COHERE_PARAMS, fields)
    if body.get("stop_sequences") is not None:
        fields["stop"] = _stop(body["stop_sequences"])
    if body.get("tools"):
        fields["tools"] = _openai_tools(body["tools"])
    choice = body.get("tool_choice")
    if choice is not None:
        fields["tool_choice"] = {"REQUIRED": "required", "NONE": "none"}[str(choice).upper()]
    return fields, extra


_READERS: dict[str, Callable[[Body], tuple[dict[str, Any], dict[str, Any]]]] = {
    "chat_completions": read_openai,
    "messages": read_anthropic,
    "generate_content": read_gemini,
    "chat_v2": read_cohere,
}
