"""The one accumulator for streamed deltas: text, thinking and tool-call arguments.

Every provider's stream goes through it. Tool calls are keyed by the provider's
index, else by id, else they continue the call opened last, so interleaved
fragments of parallel calls land in the right call. Fragments are kept as lists
and joined once when a call ends: assembly is linear in the input size.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ai_lib_python.types import (
    Candidate,
    ContentBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolCall,
    ToolUseBlock,
)


class _Tool:
    __slots__ = ("args", "call", "id", "name", "parts", "signature")

    def __init__(self, id_: str, name: str) -> None:
        self.id = id_
        self.name = name
        self.parts: list[str] = []
        self.args: dict[str, Any] | None = None
        self.signature: str | None = None
        self.call: ToolCall | None = None

    def finish(self) -> ToolCall:
        if self.call is None:
            raw = "".join(self.parts)
            args = self.args
            if args is None:
                args = _parse_arguments(raw)
                raw_out: str | None = raw
            else:
                raw_out = raw or None
            self.call = ToolCall(self.id, self.name, args, raw_out, self.signature)
        return self.call


def _parse_arguments(raw: str) -> dict[str, Any]:
    """Arguments of a finished call; unparseable text stays in ``raw_arguments``."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {"value": value}


class CandidateAccumulator:
    """Assembles one candidate's message from its deltas."""

    __slots__ = (
        "_blocks",
        "_by_key",
        "_last_tool",
        "finish_reason",
        "finished",
        "index",
        "raw_finish_reason",
        "tools",
    )

    def __init__(self, index: int) -> None:
        self.index = index
        # Ordered blocks: [kind, payload]; kind "text"/"thinking" hold lists of parts.
        self._blocks: list[list[Any]] = []
        self._by_key: dict[Any, _Tool] = {}
        self.tools: list[_Tool] = []
        self._last_tool: _Tool | None = None
        self.finish_reason: str | None = None
        self.raw_finish_reason: str | None = None
        self.finished = False

    # -- text and thinking --------------------------------------------------------
    def text(self, delta: str) -> None:
        blocks = self._blocks
        if blocks and blocks[-1][0] == "text":
            blocks[-1][1].append(delta)
        else:
            blocks.append(["text", [delta], None, None])

    def thinking(self, delta: str, signature: str | None = None,
                 redacted: str | None = None, new_block: bool = False) -> None:
        blocks = self._blocks
        if redacted is not None:
            blocks.append(["thinking", [], None, redacted])
            return
        last = blocks[-1] if blocks else None
        if new_block or last is None or last[0] != "thinking" or last[3] is not None or (
            last[2] is not None and delta
        ):
            last = ["thinking", [], None, None]
            blocks.append(last)
        if delta:
            last[1].append(delta)
        if signature:
            last[2] = (last[2] or "") + signature

    # -- tool calls ---------------------------------------------------------------
    def _key(self, index: Any, call_id: Any) -> Any:
        if index is not None:
            return ("i", index)
        if call_id:
            return ("id", call_id)
        return None

    def tool_start(self, call_id: Any, name: Any, index: Any = None,
                   arguments: Any = None, signature: Any = None) -> _Tool | None:
        """Open (or update) a call; returns the call if it is new."""
        key = self._key(index, call_id)
        tool = self._by_key.get(key) if key is not None else None
        if tool is None and call_id and index is not None:
            tool = self._by_key.get(("id", call_id))
        created = tool is None
        if tool is None:
            tool = _Tool(str(call_id) if call_id else f"call_{os.urandom(12).hex()}",
                         str(name) if name else "")
            self.tools.append(tool)
            self._blocks.append(["tool", tool, None, None])
            if key is not None:
                self._by_key[key] = tool
            if call_id:
                self._by_key[("id", call_id)] = tool
        else:
            if call_id and tool.id.startswith("call_") and str(call_id) != tool.id:
                tool.id = str(call_id)
            if name and not tool.name:
                tool.name = str(name)
        if isinstance(arguments, dict):
            tool.args = arguments
        elif isinstance(arguments, str) and arguments:
            tool.parts.append(arguments)
        if isinstance(signature, str) and signature:
            tool.signature = signature
        self._last_tool = tool
        return tool if created else None

    def tool_args(self, fragment: str, index: Any = None, call_id: Any = None) -> _Tool | None:
        """Append an argument fragment; returns a call opened implicitly, if any."""
        key = self._key(index, call_id)
        tool = self._by_key.get(key) if key is not None else self._last_tool
        created = None
        if tool is None:
            created = self.tool_start(call_id, None, index)
            tool = self._last_tool
            assert tool is not None
        tool.parts.append(fragment)
        self._last_tool = tool
        return created

    def tool_end(self, index: Any = None, call_id: Any = None) -> ToolCall | None:
        """Close a call; None when the key is not a (still open) tool call."""
        key = self._key(index, call_id)
        tool = self._by_key.get(key) if key is not None else self._last_tool
        if tool is None or tool.call is not None:
            return None
        return tool.finish()

    def open_tools(self) -> list[_Tool]:
        return [t for t in self.tools if t.call is None]

    # -- result -------------------------------------------------------------------
    def build(self, termination: dict[str, str]) -> Candidate:
        blocks: list[ContentBlock] = []
        calls: list[ToolCall] = []
        for kind, payload, signature, redacted in self._blocks:
            if kind == "text":
                blocks.append(TextBlock("".join(payload)))
            elif kind == "thinking":
                blocks.append(ThinkingBlock("".join(payload), signature, redacted))
            else:
                call = payload.finish()
                calls.append(call)
                blocks.append(ToolUseBlock(call.id, call.name, call.arguments, call.signature))
        if len(blocks) == 1 and isinstance(blocks[0], TextBlock):
            message = Message("assistant", blocks[0].text)
        else:
            message = Message("assistant", tuple(blocks))
        return Candidate(self.index, message, calls,
                         normalize_finish(self.raw_finish_reason, termination, bool(calls)),
                         self.raw_finish_reason)


_STANDARD_REASONS = frozenset(
    ("end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal", "pause_turn", "other")
)


def normalize_finish(raw: str | None, termination: dict[str, str], has_tools: bool) -> str | None:
    """Map a provider's finish reason through the manifest's ``termination.mapping``."""
    if raw is None:
        return "tool_use" if has_tools else None
    mapped = termination.get(raw)
    if mapped is None:
        mapped = raw if raw in _STANDARD_REASONS else "other"
    if has_tools and mapped == "end_turn":
        return "tool_use"
    return mapped
