"""Gemini generateContent: response decoding."""

from __future__ import annotations

from typing import Any

from ai_lib_python.pipeline import CandidateAccumulator
from ai_lib_python.types import Candidate, ChatResponse, normalize_usage


def decode_candidate(cand: dict[str, Any], position: int, termination: dict[str, str]) -> Candidate:
    index = cand.get("index", position)
    acc = CandidateAccumulator(index if isinstance(index, int) else position)
    for part in (cand.get("content") or {}).get("parts") or []:
        if not isinstance(part, dict):
            continue
        sig = part.get("thoughtSignature")
        if "functionCall" in part:
            call = part["functionCall"] or {}
            args = call.get("args")
            tool = acc.tool_start(call.get("id"), call.get("name"), None,
                                  args if isinstance(args, dict) else {}, sig)
            if tool is not None:
                tool.finish()
        elif part.get("thought") is True:
            acc.thinking(part.get("text") or "", sig)
        elif isinstance(part.get("text"), str):
            if sig:
                acc.thinking("", sig)
            acc.text(part["text"])
    finish = cand.get("finishReason")
    acc.raw_finish_reason = finish if isinstance(finish, str) else None
    return acc.build(termination)


def decode(body: Any, termination: dict[str, str]) -> ChatResponse:
    cands = [decode_candidate(c, i, termination)
             for i, c in enumerate(body.get("candidates") or []) if isinstance(c, dict)]
    cands.sort(key=lambda c: c.index)
    if not cands:
        cands = [CandidateAccumulator(0).build(termination)]
    model = body.get("modelVersion")
    rid = body.get("responseId")
    return ChatResponse(cands, normalize_usage(body.get("usageMetadata")),
                        model if isinstance(model, str) else None,
                        rid if isinstance(rid, str) else None, raw=body)
