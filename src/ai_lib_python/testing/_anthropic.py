"""Anthropic messages: ``POST /v1/messages``, JSON or SSE with ``event:`` lines."""

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
    arguments_object,
    body_dict,
    count_tokens,
    dumps,
    jstr,
    scan_messages,
    signature_for,
    split,
    template,
    text_of,
)

_FINISH = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "stop_sequence": "stop_sequence",
    "content_filter": "refusal",
}

_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low."),
    403: (
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
    ),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}

_PING = b'event: ping\ndata: {"type": "ping"}\n\n'


def _event(name: str, obj: Any) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + dumps(obj) + b"\n\n"


class AnthropicFormat(WireFormat):
    """``POST /v1/messages``: streamed when the body says ``"stream": true``."""

    name = "anthropic"
    request_id_header = "request-id"
    overloaded_status = 529

    def exchange(self, request: RecordedRequest, seq: int, created: int) -> Exchange:
        body = body_dict(request)
        user_text, prompt_chars = scan_messages(body.get("messages"))
        prompt_chars += len(text_of(body.get("system")))
        model = str(body.get("model") or "claude-emulated")
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
            wants_thinking=(
                isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
            )
            or "reason" in model.lower(),
            stop_sequences=tuple(s for s in stops if isinstance(s, str))
            if isinstance(stops, list)
            else (),
        )

    def auth(self, request: RecordedRequest) -> tuple[str | None, str | None]:
        key = request.headers.get("x-api-key")
        if key:
            return "x-api-key", key
        return super().auth(request)

    def auth_error(self, missing: bool) -> ErrorSpec:
        if missing:
            return ErrorSpec(401, "x-api-key header is required", "authentication_error")
        return self.error_spec(401, None)

    def finish_word(self, neutral: str) -> str:
        return _FINISH[neutral]

    def error_spec(self, status: int, ex: Exchange | None) -> ErrorSpec:
        if status in _ERRORS:
            etype, message = _ERRORS[status]
        elif status >= 500:
            etype, message = _ERRORS[529 if status == 503 else 500]
        else:
            etype, message = _ERRORS[400]
        if status == 404 and ex is not None:
            message = f"model: {ex.model}"
        return ErrorSpec(status, message, etype)

    def error_body(self, err: ErrorSpec, request_id: str) -> bytes:
        return dumps(
            {
                "type": "error",
                "error": {"type": err.error_type, "message": err.message},
                "request_id": request_id,
            }
        )

    # -- shared -----------------------------------------------------------------------

    def _stop_sequence(self, reply: Reply, ex: Exchange, stop_reason: str) -> str | None:
        if stop_reason != "stop_sequence":
            return None
        if reply.stop_sequence is not None:
            return reply.stop_sequence
        return ex.stop_sequences[0] if ex.stop_sequences else None

    @staticmethod
    def _usage(t: Tokens, output: int) -> dict[str, Any]:
        return {
            "input_tokens": t.input,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": t.cached,
            "output_tokens": output,
        }

    @staticmethod
    def _has_text_block(reply: Reply, text: str | Sequence[str]) -> bool:
        return bool(text) or not reply.tool_calls

    # -- non-streamed -----------------------------------------------------------------

    def body(self, reply: Reply, ex: Exchange) -> bytes:
        text = reply.full_text
        content: list[dict[str, Any]] = []
        if reply.thinking is not None:
            content.append(
                {
                    "type": "thinking",
                    "thinking": reply.full_thinking,
                    "signature": signature_for(reply),
                }
            )
        if self._has_text_block(reply, text):
            content.append({"type": "text", "text": text})
        for i, call in enumerate(reply.tool_calls):
            content.append(
                {
                    "type": "tool_use",
                    "id": call.id or _tool_id(ex, i),
                    "name": call.name,
                    "input": arguments_object(call),
                }
            )
        stop_reason = self.finish_reason(reply)
        t = count_tokens(reply, ex, [text])
        return dumps(
            {
                "id": _message_id(ex),
                "type": "message",
                "role": "assistant",
                "model": reply.model or ex.model,
                "content": content,
                "stop_reason": stop_reason,
                "stop_sequence": self._stop_sequence(reply, ex, stop_reason),
                "usage": self._usage(t, t.output),
            }
        )

    # -- streamed ---------------------------------------------------------------------

    def stream(self, reply: Reply, ex: Exchange) -> StreamBody:
        text: str | Sequence[str] = reply.candidates[0] if reply.candidates else reply.text
        t = count_tokens(reply, ex, [reply.full_text])
        items = [
            _event(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": _message_id(ex),
                        "type": "message",
                        "role": "assistant",
                        "model": reply.model or ex.model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": self._usage(t, 1),
                    },
                },
            )
        ]
        index = 0
        text_index = 0

        def delta_template(idx: int, kind: str, field: str) -> tuple[bytes, bytes]:
            obj = {
                "type": "content_block_delta",
                "index": idx,
                "delta": {"type": kind, field: SLOT},
            }
            return template(obj, b"event: content_block_delta\ndata: ", b"\n\n")

        def start(block: dict[str, Any]) -> None:
            items.append(
                _event(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": block},
                )
            )
            if index == 0:
                items.append(_PING)

        def stop() -> None:
            items.append(
                _event("content_block_stop", {"type": "content_block_stop", "index": index})
            )

        if reply.thinking is not None:
            start({"type": "thinking", "thinking": "", "signature": ""})
            pre, post = delta_template(index, "thinking_delta", "thinking")
            items.extend(pre + jstr(p) + post for p in split(reply.thinking, reply.chunk_size))
            pre, post = delta_template(index, "signature_delta", "signature")
            items.append(pre + jstr(signature_for(reply)) + post)
            stop()
            index += 1
        if self._has_text_block(reply, text):
            text_index = index
            start({"type": "text", "text": ""})
            pre, post = delta_template(index, "text_delta", "text")
            items.extend(pre + jstr(p) + post for p in split(text, reply.chunk_size))
            stop()
            index += 1
        for i, call in enumerate(reply.tool_calls):
            start(
                {
                    "type": "tool_use",
                    "id": call.id or _tool_id(ex, i),
                    "name": call.name,
                    "input": {},
                }
            )
            pre, post = delta_template(index, "input_json_delta", "partial_json")
            pieces = split(arguments_json(call), reply.chunk_size) or [""]
            items.extend(pre + jstr(p) + post for p in pieces)
            stop()
            index += 1
        stop_reason = self.finish_reason(reply)
        items.append(
            _event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": stop_reason,
                        "stop_sequence": self._stop_sequence(reply, ex, stop_reason),
                    },
                    "usage": self._usage(t, t.output),
                },
            )
        )
        items.append(_event("message_stop", {"type": "message_stop"}))
        text_pre, text_post = delta_template(text_index, "text_delta", "text")
        return StreamBody(
            items=items,
            content_type="text/event-stream; charset=utf-8",
            text_item=lambda raw: text_pre + raw + text_post,
            error_item=lambda err: _event(
                "error",
                {"type": "error", "error": {"type": err.error_type, "message": err.message}},
            ),
            terminal_items=1,
        )


def _message_id(ex: Exchange) -> str:
    return f"msg_emu{ex.seq:08d}"


def _tool_id(ex: Exchange, index: int) -> str:
    return f"toolu_emu{ex.seq:08d}x{index:02d}"


def models_body(models: Sequence[str]) -> bytes:
    """``GET /v1/models`` in Anthropic's shape (chosen by the ``anthropic-version`` header)."""
    data = [
        {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
        for m in models
    ]
    return dumps(
        {
            "data": data,
            "has_more": False,
            "first_id": models[0] if models else None,
            "last_id": models[-1] if models else None,
        }
    )
