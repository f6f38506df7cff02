"""The result of a chat call: ChatResponse, its candidates, and CallStats."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ai_lib_python.types._content import ThinkingBlock
from ai_lib_python.types._messages import Message
from ai_lib_python.types._tools import ToolCall
from ai_lib_python.types._usage import Usage


@dataclass(slots=True)
class CallStats:
    """Facts about one call, filled in by every layer it went through."""

    provider: str = ""
    model: str = ""
    latency_ms: float = 0.0
    time_to_first_token_ms: float | None = None
    attempts: int = 1
    request_id: str | None = None
    status: int | None = None
    streamed: bool = False
    target: str | None = None
    retry_waits_s: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Candidate:
    """One of several answers (n > 1)."""

    index: int
    message: Message
    tool_calls: list[ToolCall]
    finish_reason: str | None
    raw_finish_reason: str | None

    @property
    def content(self) -> str:
        return self.message.text

    @property
    def thinking(self) -> str | None:
        parts = [b.thinking for b in self.message.thinking if b.thinking]
        return "".join(parts) if parts else None


@dataclass(slots=True)
class ChatResponse:
    """An assembled answer. ``finish_reason`` is normalized (end_turn, max_tokens,
    stop_sequence, tool_use, refusal, pause_turn, other); ``raw_finish_reason`` is
    the provider's own word."""

    candidates: list[Candidate]
    usage: Usage | None = None
    model: str | None = None
    id: str | None = None
    stats: CallStats = field(default_factory=CallStats)
    raw: Any = None

    @property
    def _first(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def message(self) -> Message:
        first = self._first
        return first.message if first else Message("assistant", "")

    @property
    def content(self) -> str:
        first = self._first
        return first.content if first else ""

    @property
    def tool_calls(self) -> list[ToolCall]:
        first = self._first
        return first.tool_calls if first else []

    @property
    def finish_reason(self) -> str | None:
        first = self._first
        return first.finish_reason if first else None

    @property
    def raw_finish_reason(self) -> str | None:
        first = self._first
        return first.raw_finish_reason if first else None

    @property
    def thinking(self) -> str | None:
        first = self._first
        return first.thinking if first else None

    @property
    def thinking_blocks(self) -> list[ThinkingBlock]:
        return self.message.thinking
