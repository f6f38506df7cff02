"""Gemini ``models/{model}:generateContent`` and ``:streamGenerateContent``.

Streaming is chosen by the path. With ``?alt=sse`` the stream is SSE with ``\\r\\n\\r\\n``
between events; without it, one JSON array whose elements arrive over time.
"""

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
    arguments_object,
    body_dict,
    candidate_texts,
    count_tokens,
    dumps,
    jstr,
    round_robin,
    signature_for,
    split,
    template,
    text_of,
)

_FINISH = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "tool_calls": "STOP",
    "stop_sequence": "STOP",
    "content_filter": "SAFETY",
}

_ERRORS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "The caller does not have permission."),
    404: ("NOT_FOUND", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: ("INTERNAL", "An internal error has occurred."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}

SSE_SEP = b"\r\n\r\n"


def model_and_action(path: str) -> tuple[str, str]:
    """``.../models/gemini-2.5-flash:streamGenerateContent`` -> (model, action)."""
    last = path.rsplit("/", 1)[-1]
    model, _, action = last.partition(":")
    return model, action


def _error_object(err: ErrorSpec) -> dict[str, Any]:
    error: dict[str, Any] = {"code": err.status, "message": err.message, "status": err.error_type}
    if err.details:
        error["details"] = list(err.details)
    return {"error": error}


class GeminiFormat(WireFormat):
    """``POST /v1beta/models/{model}:generateContent`` / ``:streamGenerateContent``."""

    name = "gemini"
    json_content_type = "application/json; charset=UTF-8"

    def exchange(self, request: RecordedRequest, seq: int, created: int) -> Exchange:
        body = body_dict(request)
        model, action = model_and_action(request.path)
        contents = body.get("contents")
        contents = contents if isinstance(contents, list) else []
        system = body.get("systemInstruction") or body.get("system_instruction")
        prompt_chars = len(_parts_text(system.get("parts") if isinstance(system, dict) else None))
        user_text = ""
        for content in contents:
            if not isinstance(content, dict):
                continue
            text = _parts_text(content.get("parts"))
            prompt_chars += len(text)
            if content.get("role", "user") == "user":
                user_text = text
        config = body.get("generationConfig") or body.get("generation_config") or {}
        config = config if isinstance(config, dict) else {}
        count = config.get("candidateCount")
        thinking = config.get("thinkingConfig")
        stops = config.get("stopSequences")
        return Exchange(
            format=self.name,
            model=model or "gemini-emulated",
            stream=action == "streamGenerateContent",
            user_text=user_text,
            prompt_chars=prompt_chars,
            seq=seq,
            created=created,
            choices=count if isinstance(count, int) and count > 0 else 1,
            wants_thinking=(isinstance(thinking, dict) and thinking.get("includeThoughts") is True)
            or "reason" in model.lower(),
            stop_sequences=tuple(s for s in stops if isinstance(s, str))
            if isinstance(stops, list)
            else (),
            sse=request.query.get("alt") == "sse",
        )

    def auth(self, request: RecordedRequest) -> tuple[str | None, str | None]:
        key = request.headers.get("x-goog-api-key")
        if key:
            return "x-goog-api-key", key
        if request.query.get("key"):
            return "query", request.query["key"]
        return super().auth(request)

    def auth_error(self, missing: bool) -> ErrorSpec:
        if missing:
            return ErrorSpec(
                403,
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to "
                "call this API.",
                "PERMISSION_DENIED",
            )
        return ErrorSpec(
            400,
            "API key not valid. Please pass a valid API key.",
            "INVALID_ARGUMENT",
            details=(
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                },
            ),
        )

    def finish_word(self, neutral: str) -> str:
        return _FINISH[neutral]

    def error_spec(self, status: int, ex: Exchange | None) -> ErrorSpec:
        if status in _ERRORS:
            etype, message = _ERRORS[status]
        elif status >= 500:
            etype, message = _ERRORS[503 if status in (502, 529) else 500]
        else:
            etype, message = _ERRORS[400]
        if status == 404 and ex is not None:
            message = (
                f"models/{ex.model} is not found for API version v1beta, or is not "
                "supported for generateContent."
            )
        return ErrorSpec(status, message, etype)

    def error_body(self, err: ErrorSpec, request_id: str) -> bytes:
        return dumps(_error_object(err))

    # -- shared -----------------------------------------------------------------------

    @staticmethod
    def _usage(t: Tokens, final: bool) -> dict[str, Any]:
        usage: dict[str, Any] = {"promptTokenCount": t.input}
        if final:
            usage["candidatesTokenCount"] = t.visible
        usage["totalTokenCount"] = t.input + (t.visible if final else 0) + t.reasoning
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": t.input}]
        if t.reasoning:
            usage["thoughtsTokenCount"] = t.reasoning
        if t.cached:
            usage["cachedContentTokenCount"] = t.cached
        return usage

    def _call_part(self, reply: Reply, index: int) -> dict[str, Any]:
        call = reply.tool_calls[index]
        function_call: dict[str, Any] = {"name": call.name, "args": arguments_object(call)}
        if call.id is not None:
            function_call["id"] = call.id
        part: dict[str, Any] = {"functionCall": function_call}
        if index == 0 and (reply.thinking is not None or reply.signature is not None):
            part["thoughtSignature"] = signature_for(reply)
        return part

    # -- non-streamed -----------------------------------------------------------------

    def body(self, reply: Reply, ex: Exchange) -> bytes:
        texts = [t if isinstance(t, str) else "".join(t) for t in candidate_texts(reply, ex)]
        finish = self.finish_reason(reply)
        candidates = []
        for index, text in enumerate(texts):
            parts: list[dict[str, Any]] = []
            if index == 0 and reply.thinking is not None:
                parts.append({"text": reply.full_thinking, "thought": True})
            has_calls = index == 0 and bool(reply.tool_calls)
            if text or not has_calls:
                parts.append({"text": text})
            if has_calls:
                parts.extend(self._call_part(reply, i) for i in range(len(reply.tool_calls)))
            candidates.append(
                {
                    "content": {"parts": parts, "role": "model"},
                    "finishReason": finish,
                    "index": index,
                }
            )
        return dumps(
            {
                "candidates": candidates,
                "usageMetadata": self._usage(count_tokens(reply, ex, texts), final=True),
                "modelVersion": reply.model or ex.model,
                "responseId": _response_id(ex),
            }
        )

    # -- streamed ---------------------------------------------------------------------

    def stream(self, reply: Reply, ex: Exchange) -> StreamBody:
        pretty = not ex.sse
        before, after = (b"data: ", SSE_SEP) if ex.sse else (b"", b"\n")
        texts = candidate_texts(reply, ex)
        joined = [t if isinstance(t, str) else "".join(t) for t in texts]
        tokens = count_tokens(reply, ex, joined)
        finish = self.finish_reason(reply)
        model = reply.model or ex.model
        running = self._usage(tokens, final=False)

        def envelope(candidate: dict[str, Any], final: bool) -> dict[str, Any]:
            return {
                "candidates": [candidate],
                "usageMetadata": self._usage(tokens, final=True) if final else running,
                "modelVersion": model,
                "responseId": _response_id(ex),
            }

        def candidate(index: int, part: Any, finished: bool) -> dict[str, Any]:
            obj: dict[str, Any] = {"content": {"parts": [part], "role": "model"}}
            if finished:
                obj["finishReason"] = finish
            obj["index"] = index
            return obj

        # Piece specs first (cheap tuples), so the last piece of each candidate and of
        # the stream can carry finishReason and the final usage.
        per_candidate: list[list[tuple[int, str, Any]]] = []
        for index, text in enumerate(texts):
            specs: list[tuple[int, str, Any]] = []
            if index == 0 and reply.thinking is not None:
                specs.extend((index, "thought", p) for p in split(reply.thinking, reply.chunk_size))
            specs.extend((index, "text", p) for p in split(text, reply.chunk_size))
            if index == 0:
                specs.extend((index, "call", i) for i in range(len(reply.tool_calls)))
            if not specs or specs[-1][1] == "thought":
                specs.append((index, "text", ""))
            per_candidate.append(specs)
        ordered = round_robin(per_candidate)

        templates = {
            (i, kind): template(
                envelope(
                    candidate(
                        i,
                        {"text": SLOT, "thought": True} if kind == "thought" else {"text": SLOT},
                        False,
                    ),
                    False,
                ),
                before,
                after,
                pretty=pretty,
            )
            for i in range(len(texts))
            for kind in ("thought", "text")
        }
        last_of = {id(specs[-1]) for specs in per_candidate}
        final_spec = ordered[-1]
        items: list[bytes] = []
        for spec in ordered:
            index, kind, value = spec
            finished = id(spec) in last_of
            if kind == "call":
                part: Any = self._call_part(reply, value)
            elif not finished:
                pre, post = templates[(index, kind)]
                items.append(pre + jstr(value) + post)
                continue
            else:
                part = {"text": value, "thought": True} if kind == "thought" else {"text": value}
            obj = envelope(candidate(index, part, finished), spec is final_spec)
            items.append(before + dumps(obj, pretty=pretty) + after)

        text_pre, text_post = templates[(0, "text")]
        return StreamBody(
            items=items,
            content_type="text/event-stream" if ex.sse else self.json_content_type,
            text_item=lambda raw: text_pre + raw + text_post,
            error_item=lambda err: before + dumps(_error_object(err), pretty=pretty) + after,
            terminal_items=0,
            array=not ex.sse,
        )


def _parts_text(parts: Any) -> str:
    if not isinstance(parts, list):
        return ""
    return text_of([p for p in parts if isinstance(p, dict) and not p.get("thought")])


def _response_id(ex: Exchange) -> str:
    return f"emu-response-{ex.seq:08d}"


def models_body(models: Sequence[str]) -> bytes:
    """``GET /v1beta/models``."""
    return dumps(
        {
            "models": [
                {
                    "name": f"models/{m}",
                    "displayName": m,
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                }
                for m in models
            ]
        }
    )
