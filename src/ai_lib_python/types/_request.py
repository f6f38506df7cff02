"""The provider-neutral chat request: what the builder produces and every layer passes on."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ai_lib_python.types._messages import Message
from ai_lib_python.types._tools import ToolChoice, ToolDefinition


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """An immutable chat request; ``with_(...)`` returns a changed copy."""

    model: str
    messages: tuple[Message, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: tuple[str, ...] | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    seed: int | None = None
    n: int | None = None
    tools: tuple[ToolDefinition, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    thinking_budget: int | None = None
    user: str | None = None
    extra_body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    timeout: float | None = None
    stream: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> ChatRequest:
        return replace(self, **changes)

    def standard_params(self) -> dict[str, Any]:
        """The standard sampling parameters that are set, by their standard names."""
        out: dict[str, Any] = {}
        for name in ("temperature", "max_tokens", "top_p", "top_k", "frequency_penalty",
                     "presence_penalty", "seed", "n", "reasoning_effort", "user",
                     "parallel_tool_calls"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.stop:
            out["stop_sequences"] = list(self.stop)
        return out
