"""OpenAI chat completions (and OpenAI-compatible APIs), embeddings and model list."""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from collections.abc import Sequence
from typing import Any

from ai_lib_python.testing._script import RecordedRequest, Reply
from ai_lib_python.testing._wire import (
    SLOT,
    ErrorSpec,
    Exchange,
    StreamBody,
    WireFormat,
    arguments_json,
    body_dict,
    candidate_texts,
    count_tokens,
    dumps,
    estimate_tokens,
    jstr,
    round_robin,
    scan_messages,
    split,
    template,
)

_FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "stop_sequence": "stop",
    "content_filter": "content_filter",
}

_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", None, "You are not allowed to access this resource."),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    413: ("invalid_request_error", None, "Request too large."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests. Please try again later.",
    ),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
}

FINGERPRINT = "fp_emulator"


def _usage(reply: Reply, ex: Exchange, texts: Sequence[str]) -> dict[str, Any]:
    t = count_tokens(reply, ex, texts)
    return {
        "prompt_tokens": t.input,
        "completion_tokens": t.output,
        "total_tokens": t.input + t.output,
        "prompt_tokens_details": {"cached_tokens": t.cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": t.reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _joined(text: str | Sequence[str]) -> str:
    return text if isinstance(text, str) else "".join(text)


class OpenAIFormat(WireFormat):
    """``POST .../chat/completions``: streamed when the body says ``"stream": true``."""

    name = "openai"

    def exchange(self, request: RecordedRequest, seq: int, created: int) -> Exchange:
        body = body_dict(request)
        user_text, prompt_chars = scan_messages(body.get("messages"))
        model = str(body.get("model") or "gpt-emulated")
        options = body.get("stream_options")
        n = body.get("n")
        stop = body.get("stop")
        stops = (
            (stop,) if isinstance(stop, str) else tuple(s for s in stop or () if isinstance(s, str))
        )
        return Exchange(
            format=self.name,
            model=model,
            stream=body.get("stream") is True,
            user_text=user_text,
            prompt_chars=prompt_chars,
            seq=seq,
            created=created,
            choices=n if isinstance(n, int) and n > 0 else 1,
            include_usage=isinstance(options, dict) and options.get("include_usage") is True,
            wants_thinking="reason" in model.lower(),
            stop_sequences=stops,
        )

    def finish_word(self, neutral: str) -> str:
        return _FINISH[neutral]

    def error_spec(self, status: int, ex: Exchange | None) -> ErrorSpec:
        if status in _ERRORS:
            etype, code, message = _ERRORS[status]
        elif status >= 500:
            etype, code, message = _ERRORS[503 if status in (502, 504, 529) else 500]
        else:
            etype, code, message = _ERRORS[400]
        if status == 404 and ex is not None:
            message = f"The model `{ex.model}` does not exist or you do not have access to it."
        return ErrorSpec(status, message, etype, code)

    def auth_error(self, missing: bool) -> ErrorSpec:
        if missing:
            return ErrorSpec(
                401,
                "You didn't provide an API key. Provide it in an Authorization header "
                "as 'Bearer YOUR_KEY'.",
                "invalid_request_error",
                None,
            )
        return self.error_spec(401, None)

    def error_body(self, err: ErrorSpec, request_id: str) -> bytes:
        return dumps({"error": _error_object(err)})

    # -- non-streamed -----------------------------------------------------------------

    def body(self, reply: Reply, ex: Exchange) -> bytes:
        texts = [_joined(t) for t in candidate_texts(reply, ex)]
        finish = self.finish_reason(reply)
        choices = []
        for index, text in enumerate(texts):
            message: dict[str, Any] = {"role": "assistant"}
            has_calls = index == 0 and bool(reply.tool_calls)
            message["content"] = None if has_calls and not text else text
            if index == 0 and reply.thinking is not None:
                message[reply.thinking_field] = reply.full_thinking
            message["refusal"] = None
            message["annotations"] = []
            if has_calls:
                message["tool_calls"] = [
                    {
                        "id": call.id or _call_id(ex, i),
                        "type": "function",
                        "function": {"name": call.name, "arguments": arguments_json(call)},
                    }
                    for i, call in enumerate(reply.tool_calls)
                ]
            choices.append(
                {
                    "index": index,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": finish if index == 0 or not reply.tool_calls else "stop",
                }
            )
        return dumps(
            {
                "id": _completion_id(ex),
                "object": "chat.completion",
                "created": ex.created,
                "model": reply.model or ex.model,
                "choices": choices,
                "usage": _usage(reply, ex, texts),
                "service_tier": "default",
                "system_fingerprint": FINGERPRINT,
            }
        )

    # -- streamed ---------------------------------------------------------------------

    def stream(self, reply: Reply, ex: Exchange) -> StreamBody:
        enc = _ChunkEncoder(reply, ex)
        texts = candidate_texts(reply, ex)
        finish = self.finish_reason(reply)
        per_choice: list[list[bytes]] = []
        for index, text in enumerate(texts):
            has_calls = index == 0 and bool(reply.tool_calls)
            role = {"role": "assistant", "content": None if has_calls else "", "refusal": None}
            items = [enc.frame(index, role)]
            if index == 0 and reply.thinking is not None:
                items.extend(enc.pieces(index, reply.thinking_field, reply.thinking))
            items.extend(enc.pieces(index, "content", text))
            if has_calls:
                items.extend(enc.tool_calls())
            own_finish = finish if index == 0 or not reply.tool_calls else "stop"
            items.append(enc.frame(index, {}, own_finish))
            per_choice.append(items)

        items = round_robin(per_choice)
        if ex.include_usage:
            joined = [_joined(t) for t in texts]
            items.append(enc.encode(enc.chunk(None, _usage(reply, ex, joined))))
        items.append(b"data: [DONE]\n\n")
        text_pre, text_post = enc.template(0, "content")
        return StreamBody(
            items=items,
            content_type="text/event-stream; charset=utf-8",
            text_item=lambda raw: text_pre + raw + text_post,
            error_item=lambda err: b"data: " + dumps({"error": _error_object(err)}) + b"\n\n",
            terminal_items=1,
        )


class _ChunkEncoder:
    """Encodes ``chat.completion.chunk`` frames of one streamed reply."""

    def __init__(self, reply: Reply, ex: Exchange) -> None:
        self.reply = reply
        self.ex = ex
        self.base: dict[str, Any] = {
            "id": _completion_id(ex),
            "object": "chat.completion.chunk",
            "created": ex.created,
            "model": reply.model or ex.model,
            "system_fingerprint": FINGERPRINT,
        }

    def chunk(self, choice: dict[str, Any] | None, usage: Any = None) -> dict[str, Any]:
        obj = dict(self.base)
        obj["choices"] = [] if choice is None else [choice]
        if self.ex.include_usage:  # real chunks carry "usage": null until the last one
            obj["usage"] = usage
        return obj

    @staticmethod
    def choice(index: int, delta: Any, finish: str | None = None) -> dict[str, Any]:
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}

    @staticmethod
    def encode(obj: dict[str, Any]) -> bytes:
        return b"data: " + dumps(obj) + b"\n\n"

    def frame(self, index: int, delta: Any, finish: str | None = None) -> bytes:
        return self.encode(self.chunk(self.choice(index, delta, finish)))

    def template(self, index: int, field: str) -> tuple[bytes, bytes]:
        return template(self.chunk(self.choice(index, {field: SLOT})), b"data: ", b"\n\n")

    def pieces(self, index: int, field: str, text: str | Sequence[str]) -> list[bytes]:
        pre, post = self.template(index, field)
        return [pre + jstr(p) + post for p in split(text, self.reply.chunk_size)]

    def tool_calls(self) -> list[bytes]:
        """Per call: a first delta with id and name, then argument fragments."""
        per_call: list[list[bytes]] = []
        for i, call in enumerate(self.reply.tool_calls):
            start = {
                "index": i,
                "id": call.id or _call_id(self.ex, i),
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            frames = [self.frame(0, {"tool_calls": [start]})]
            for piece in split(arguments_json(call), self.reply.chunk_size):
                delta = {"tool_calls": [{"index": i, "function": {"arguments": piece}}]}
                frames.append(self.frame(0, delta))
            per_call.append(frames)
        if self.reply.interleave_tool_calls:
            return round_robin(per_call)
        return [f for frames in per_call for f in frames]


def _error_object(err: ErrorSpec) -> dict[str, Any]:
    return {"message": err.message, "type": err.error_type, "param": None, "code": err.code}


def _completion_id(ex: Exchange) -> str:
    return f"chatcmpl-emu{ex.seq:08d}"


def _call_id(ex: Exchange, index: int) -> str:
    return f"call_emu{ex.seq:08d}x{index:02d}"


# -- models and embeddings -----------------------------------------------------------


def models_body(models: Sequence[str], created: int) -> bytes:
    """``GET /v1/models``."""
    return dumps(
        {
            "object": "list",
            "data": [
                {"id": m, "object": "model", "created": created, "owned_by": "emulator"}
                for m in models
            ],
        }
    )


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector derived from a hash of ``text``."""
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend((b / 127.5) - 1.0 for b in digest)
        counter += 1
    values = values[:dimensions]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    # Round through float32 so base64 and float responses carry the same numbers.
    return [struct.unpack("<f", struct.pack("<f", v / norm))[0] for v in values]


def embeddings_body(request: RecordedRequest, default_dimensions: int) -> bytes:
    """``POST /v1/embeddings``: one deterministic vector per input."""
    body = body_dict(request)
    raw = body.get("input")
    inputs: list[Any] = (
        raw if isinstance(raw, list) and raw and not isinstance(raw[0], int) else [raw]
    )
    dims = body.get("dimensions")
    dimensions = dims if isinstance(dims, int) and dims > 0 else default_dimensions
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    tokens = 0
    for index, item in enumerate(inputs):
        text = item if isinstance(item, str) else dumps(item).decode()
        tokens += estimate_tokens(len(text)) or 1
        vector = embedding_vector(text, dimensions)
        embedding: Any = (
            base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            if as_base64
            else vector
        )
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    return dumps(
        {
            "object": "list",
            "data": data,
            "model": str(body.get("model") or "text-embedding-emulated"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )
