"""Cohere v2 chat: ``POST /v2/chat``, JSON or SSE (``event:`` + ``data:`` per event)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ai_lib_python.testing._script import RecordedRequest, Reply
from ai_lib_python.testing._wire import (
    SLOT,
    ErrorSpec,
    Exchange,
    StreamBody,
    Tokens,
    WireFormat,
    arguments_json,
    body_dict,
    count_tokens,
    dumps,
    jstr,
    scan_messages,
    split,
    template,
)

_FINISH = {
    "stop": "COMPLETE",
    "length": "MAX_TOKENS",
    "tool_calls": "TOOL_CALL",
    "stop_sequence": "STOP_SEQUENCE",
    "content_filter": "ERROR",
}

_ERRORS: dict[int, str] = {
    400: "invalid request",
    401: "invalid api token",
    403: "forbidden",
    404: "not found",
    429: "too many requests, please retry later",
    500: "internal server error",
    503: "service unavailable, please retry later",
}


def _event(name: str, obj: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + dumps(obj) + b"\n\n"


def _usage(t: Tokens) -> dict[str, Any]:
    return {
        "billed_units": {"input_tokens": t.input, "output_tokens": t.output},
        "tokens": {"input_tokens": t.input, "output_tokens": t.output},
    }


class CohereFormat(WireFormat):
    """``POST /v2/chat``: streamed when the body says ``"stream": true``."""

    name = "cohere"

    def exchange(self, request: RecordedRequest, seq: int, created: int) -> Exchange:
        body = body_dict(request)
        user_text, prompt_chars = scan_messages(body.get("messages"))
        model = str(body.get("model") or "command-emulated")
        thinking = body.get("thinking")
        stops = body.get("stop_sequences")
        return Exchange(
            format=self.name,
            model=model,
            stream=body.get("stream") is True,
            user_text=user_text,
            prompt_chars=prompt_chars,
            seq=seq,
            created=created,
            wants_thinking=(isinstance(thinking, dict) and thinking.get("type") == "enabled")
            or "reason" in model.lower(),
            stop_sequences=tuple(s for s in stops if isinstance(s, str))
            if isinstance(stops, list)
            else (),
        )

    def auth_error(self, missing: bool) -> ErrorSpec:
        return ErrorSpec(401, "no api key supplied" if missing else "invalid api token")

    def finish_word(self, neutral: str) -> str:
        return _FINISH[neutral]

    def error_spec(self, status: int, ex: Exchange | None) -> ErrorSpec:
        if status in _ERRORS:
            message = _ERRORS[status]
        else:
            message = (
                _ERRORS[503 if status in (502, 529) else 500] if status >= 500 else _ERRORS[400]
            )
        if status == 404 and ex is not None:
            message = f"model '{ex.model}' not found, make sure the correct model ID was used"
        return ErrorSpec(status, message)

    def error_body(self, err: ErrorSpec, request_id: str) -> bytes:
        return dumps({"id": request_id, "message": err.message})

    def body(self, reply: Reply, ex: Exchange) -> bytes:
        text = reply.full_text
        message: dict[str, Any] = {"role": "assistant"}
        content: list[dict[str, Any]] = []
        if reply.thinking is not None:
            content.append({"type": "thinking", "thinking": reply.full_thinking})
        if reply.tool_calls:
            if text:
                message["tool_plan"] = text
            message["tool_calls"] = [
                {
                    "id": call.id or _call_id(ex, i, call.name),
                    "type": "function",
                    "function": {"name": call.name, "arguments": arguments_json(call)},
                }
                for i, call in enumerate(reply.tool_calls)
            ]
        else:
            content.append({"type": "text", "text": text})
        if content:
            message["content"] = content
        return dumps(
            {
                "id": _message_id(ex),
                "finish_reason": self.finish_reason(reply),
                "message": message,
                "usage": _usage(count_tokens(reply, ex, [text])),
            }
        )

    def stream(self, reply: Reply, ex: Exchange) -> StreamBody:
        text: str | Sequence[str] = reply.candidates[0] if reply.candidates else reply.text
        items = [
            _event(
                "message-start",
                {
                    "id": _message_id(ex),
                    "type": "message-start",
                    "delta": {
                        "message": {
                            "role": "assistant",
                            "content": [],
                            "tool_plan": "",
                            "tool_calls": [],
                            "citations": [],
                        }
                    },
                },
            )
        ]
        index = 0
        text_index = 0

        def content_template(idx: int, field: str) -> tuple[bytes, bytes]:
            obj = {
                "type": "content-delta",
                "index": idx,
                "delta": {"message": {"content": {field: SLOT}}},
            }
            return template(obj, b"event: content-delta\ndata: ", b"\n\n")

        def block(field: str, value: str | Sequence[str]) -> None:
            items.append(
                _event(
                    "content-start",
                    {
                        "type": "content-start",
                        "index": index,
                        "delta": {"message": {"content": {"type": field, field: ""}}},
                    },
                )
            )
            pre, post = content_template(index, field)
            items.extend(pre + jstr(p) + post for p in split(value, reply.chunk_size))
            items.append(_event("content-end", {"type": "content-end", "index": index}))

        if reply.thinking is not None:
            block("thinking", reply.thinking)
            index += 1
        if reply.tool_calls:
            pre, post = template(
                {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": SLOT}}},
                b"event: tool-plan-delta\ndata: ",
                b"\n\n",
            )
            items.extend(pre + jstr(p) + post for p in split(text, reply.chunk_size))
            for i, call in enumerate(reply.tool_calls):
                start = {
                    "id": call.id or _call_id(ex, i, call.name),
                    "type": "function",
                    "function": {"name": call.name, "arguments": ""},
                }
                items.append(
                    _event(
                        "tool-call-start",
                        {
                            "type": "tool-call-start",
                            "index": i,
                            "delta": {"message": {"tool_calls": start}},
                        },
                    )
                )
                for piece in split(arguments_json(call), reply.chunk_size):
                    delta = {"message": {"tool_calls": {"function": {"arguments": piece}}}}
                    items.append(
                        _event(
                            "tool-call-delta",
                            {"type": "tool-call-delta", "index": i, "delta": delta},
                        )
                    )
                items.append(_event("tool-call-end", {"type": "tool-call-end", "index": i}))
        else:
            text_index = index
            block("text", text)
        t = count_tokens(reply, ex, [reply.full_text])
        items.append(
            _event(
                "message-end",
                {
                    "type": "message-end",
                    "delta": {"finish_reason": self.finish_reason(reply), "usage": _usage(t)},
                },
            )
        )
        text_pre, text_post = content_template(text_index, "text")
        return StreamBody(
            items=items,
            content_type="text/event-stream",
            text_item=lambda raw: text_pre + raw + text_post,
            error_item=lambda err: _event(
                "message-end",
                {"type": "message-end", "delta": {"error": err.message, "finish_reason": "ERROR"}},
            ),
            terminal_items=1,
        )


def _message_id(ex: Exchange) -> str:
    return f"emu-{ex.seq:08d}-0000-4000-8000-000000000000"


def _call_id(ex: Exchange, index: int, name: str) -> str:
    return f"{name}_emu{ex.seq:08d}x{index:02d}"
