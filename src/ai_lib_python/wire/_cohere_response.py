"""Cohere v2 Chat: response decoding."""

from __future__ import annotations

from typing import Any

from ai_lib_python.pipeline import CandidateAccumulator
from ai_lib_python.types import ChatResponse, normalize_usage


def decode(body: Any, termination: dict[str, str]) -> ChatResponse:
    acc = CandidateAccumulator(0)
    msg = body.get("message") or {}
    content = msg.get("content")
    if isinstance(content, str):
        acc.text(content)
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "thinking":
            acc.thinking(part.get("thinking") or "", new_block=True)
        elif part.get("type") == "text":
            acc.text(part.get("text") or "")
    for i, call in enumerate(msg.get("tool_calls") or []):
        fn = call.get("function") or {}
        acc.tool_start(call.get("id"), fn.get("name"), i, fn.get("arguments") or "")
        acc.tool_end(i)
    finish = body.get("finish_reason")
    acc.raw_finish_reason = finish if isinstance(finish, str) else None
    rid = body.get("id")
    return ChatResponse([acc.build(termination)], normalize_usage(body.get("usage")), None,
                        rid if isinstance(rid, str) else None, raw=body)
