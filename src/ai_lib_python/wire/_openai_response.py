"""OpenAI Chat Completions: response decoding (also OpenAI-compatible providers)."""

from __future__ import annotations

from typing import Any

from ai_lib_python.pipeline import CandidateAccumulator
from ai_lib_python.types import Candidate, ChatResponse, normalize_usage


def _content_parts(acc: CandidateAccumulator, content: Any) -> None:
    if isinstance(content, str):
        if content:
            acc.text(content)
        return
    if not isinstance(content, list):
        return
    for part in content:  # typed content lists (Mistral reasoning models)
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            acc.text(part["text"])
        elif kind == "thinking":
            inner = part.get("thinking")
            if isinstance(inner, list):
                acc.thinking("".join(p.get("text", "") for p in inner if isinstance(p, dict)),
                             new_block=True)
            elif isinstance(inner, str):
                acc.thinking(inner, new_block=True)


def decode_choice(choice: dict[str, Any], termination: dict[str, str]) -> Candidate:
    index = choice.get("index", 0)
    acc = CandidateAccumulator(index if isinstance(index, int) else 0)
    msg = choice.get("message") or {}
    for key in ("reasoning_content", "reasoning"):
        value = msg.get(key)
        if isinstance(value, str) and value:
            acc.thinking(value)
            break
    _content_parts(acc, msg.get("content"))
    for i, call in enumerate(msg.get("tool_calls") or []):
        if not isinstance(call, dict):
            continue
        fn = call.get("function") or {}
        args = fn.get("arguments")
        acc.tool_start(call.get("id"), fn.get("name"), i,
                       args if isinstance(args, (str, dict)) else None)
        acc.tool_end(i)
    finish = choice.get("finish_reason")
    acc.raw_finish_reason = finish if isinstance(finish, str) else None
    return acc.build(termination)


def decode(body: Any, termination: dict[str, str]) -> ChatResponse:
    choices = body.get("choices") or []
    cands = [decode_choice(c, termination) for c in choices if isinstance(c, dict)]
    cands.sort(key=lambda c: c.index)
    if not cands:
        cands = [CandidateAccumulator(0).build(termination)]
    model = body.get("model")
    rid = body.get("id")
    return ChatResponse(cands, normalize_usage(body.get("usage")),
                        model if isinstance(model, str) else None,
                        rid if isinstance(rid, str) else None, raw=body)
