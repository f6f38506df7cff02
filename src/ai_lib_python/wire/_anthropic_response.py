"""Anthropic Messages: response decoding."""

from __future__ import annotations

from typing import Any

from ai_lib_python.pipeline import CandidateAccumulator
from ai_lib_python.types import ChatResponse, normalize_usage


def decode(body: Any, termination: dict[str, str]) -> ChatResponse:
    acc = CandidateAccumulator(0)
    for block in body.get("content") or []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            acc.text(block.get("text") or "")
        elif kind == "thinking":
            acc.thinking(block.get("thinking") or "", block.get("signature"), new_block=True)
        elif kind == "redacted_thinking":
            acc.thinking("", redacted=block.get("data") or "")
        elif kind in ("tool_use", "server_tool_use"):
            args = block.get("input")
            acc.tool_start(block.get("id"), block.get("name"), None,
                           args if isinstance(args, dict) else {})
            acc.tool_end(None, block.get("id"))
    stop = body.get("stop_reason")
    acc.raw_finish_reason = stop if isinstance(stop, str) else None
    model = body.get("model")
    rid = body.get("id")
    return ChatResponse([acc.build(termination)], normalize_usage(body.get("usage")),
                        model if isinstance(model, str) else None,
                        rid if isinstance(rid, str) else None, raw=body)
