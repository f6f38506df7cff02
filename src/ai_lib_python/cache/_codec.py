"""The cache key of a request, and responses and stream events as JSON-ready data."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from ai_lib_python.types import (
    AudioBlock,
    Candidate,
    ChatRequest,
    ChatResponse,
    ContentBlock,
    DocumentBlock,
    FinalCandidate,
    ImageBlock,
    Message,
    Metadata,
    PartialContentDelta,
    PartialToolCall,
    StreamEnd,
    StreamEvent,
    TextBlock,
    ThinkingBlock,
    ThinkingDelta,
    ToolCall,
    ToolCallEnded,
    ToolCallStarted,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
)

KEY_VERSION = 1
# Request fields that do not change the answer: transport settings and local notes.
_NOT_IN_KEY = frozenset(("model", "messages", "tools", "stream", "headers", "timeout",
                         "metadata"))
_BLOCKS: dict[str, type[Any]] = {
    "text": TextBlock, "image": ImageBlock, "audio": AudioBlock, "document": DocumentBlock,
    "tool_use": ToolUseBlock, "tool_result": ToolResultBlock, "thinking": ThinkingBlock,
}
_EVENTS: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (PartialContentDelta, ThinkingDelta, ToolCallStarted,
                                  PartialToolCall, ToolCallEnded, Metadata, FinalCandidate,
                                  StreamEnd)
}


def _plain(obj: Any) -> Any:
    """Dataclasses, tuples and dicts as JSON values (dataclass fields in field order)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    return obj


def request_key(request: ChatRequest, provider: str, model: str | None = None) -> str:
    """A stable hash of what decides the answer to ``request`` at ``provider``.

    Covers the model, the messages, the tools and every parameter (``extra_body``
    too); leaves out the stream flag, extra headers, the timeout and local metadata,
    and never sees an API key.
    """
    params = {
        f.name: _plain(getattr(request, f.name))
        for f in dataclasses.fields(request)
        if f.name not in _NOT_IN_KEY and getattr(request, f.name) is not None
    }
    doc = {
        "v": KEY_VERSION,
        "provider": provider,
        "model": model or request.model,
        "messages": _plain(request.messages),
        "tools": _plain(request.tools),
        "params": params,
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# -- responses --------------------------------------------------------------------
def _usage(data: Any) -> Usage | None:
    return Usage(**data) if isinstance(data, dict) else None


def _call(data: dict[str, Any]) -> ToolCall:
    return ToolCall(**data)


def _block(data: dict[str, Any]) -> ContentBlock:
    cls = _BLOCKS[data["type"]]
    block: ContentBlock = cls(**data)
    return block


def _message(data: dict[str, Any]) -> Message:
    content = data.get("content", "")
    if isinstance(content, list):
        content = tuple(_block(b) for b in content)
    return Message(data["role"], content, data.get("name"), data.get("tool_call_id"),
                   data.get("metadata"))


def response_to_data(response: ChatResponse) -> dict[str, Any]:
    """``response`` without its stats, as JSON-ready data."""
    return {
        "candidates": _plain(response.candidates),
        "usage": _plain(response.usage),
        "model": response.model,
        "id": response.id,
        "raw": response.raw,
    }


def response_from_data(data: dict[str, Any]) -> ChatResponse:
    candidates = [
        Candidate(c["index"], _message(c["message"]), [_call(t) for t in c["tool_calls"]],
                  c.get("finish_reason"), c.get("raw_finish_reason"))
        for c in data["candidates"]
    ]
    return ChatResponse(candidates, _usage(data.get("usage")), data.get("model"),
                        data.get("id"), raw=data.get("raw"))


# -- stream events ----------------------------------------------------------------
def event_to_data(event: StreamEvent) -> dict[str, Any]:
    data: dict[str, Any] = _plain(event)
    return data


def event_from_data(data: dict[str, Any]) -> StreamEvent:
    fields = dict(data)
    cls = _EVENTS[fields["type"]]
    if cls is ToolCallEnded:
        fields["tool_call"] = _call(fields["tool_call"])
    elif cls is Metadata:
        fields["usage"] = _usage(fields.get("usage"))
    event: StreamEvent = cls(**fields)
    return event


def events_from_response(response: ChatResponse) -> list[StreamEvent]:
    """The events of a live stream of ``response``, in the canonical order (an OpenAI
    stream's): per candidate thinking, text, then each tool call started, its
    arguments, ended, and the final candidate; then usage metadata and the stream end.
    Providers that interleave tool calls or repeat usage differ only in that order."""
    events: list[StreamEvent] = []
    for cand in response.candidates:
        i = cand.index
        for block in cand.message.thinking:
            events.append(ThinkingDelta(block.thinking, i, block.signature, block.redacted))
        if cand.content:
            events.append(PartialContentDelta(cand.content, i))
        for n, call in enumerate(cand.tool_calls):
            events.append(ToolCallStarted(call.id, call.name, n, i))
            events.append(PartialToolCall(call.arguments_json, n, call.id, i))
            events.append(ToolCallEnded(call, n, i))
        events.append(FinalCandidate(cand.finish_reason, cand.raw_finish_reason, i))
    if response.usage is not None or response.model or response.id:
        events.append(Metadata(response.usage, response.model, response.id))
    events.append(StreamEnd(response.finish_reason))
    return events


def encode_entry(response: ChatResponse, events: list[StreamEvent] | None) -> bytes:
    doc = {"v": KEY_VERSION, "response": response_to_data(response),
           "events": [event_to_data(e) for e in events] if events is not None else None}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def decode_entry(data: bytes) -> tuple[ChatResponse, list[StreamEvent] | None]:
    doc = json.loads(data)
    if doc.get("v") != KEY_VERSION:
        raise ValueError(f"cache entry version {doc.get('v')!r}")
    events = doc.get("events")
    return (response_from_data(doc["response"]),
            [event_from_data(e) for e in events] if events is not None else None)
