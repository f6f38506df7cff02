"""Messages of a conversation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ai_lib_python.errors import ConfigurationError
from ai_lib_python.types._content import (
    ContentBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)

Role = Literal["system", "user", "assistant", "tool"]
_ROLES = frozenset(("system", "user", "assistant", "tool"))
_BLOCK_TYPES = (
    "text", "image", "audio", "document", "tool_use", "tool_result", "thinking",
)


@dataclass(frozen=True, slots=True)
class Message:
    """One message. ``content`` is a string or a tuple of content blocks.

    A ``tool`` message carries ``tool_call_id`` and the result text as content.
    """

    role: Role
    content: str | tuple[ContentBlock, ...] = ""
    name: str | None = None
    tool_call_id: str | None = None
    metadata: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise ConfigurationError(
                f"unknown message role {self.role!r}", hint="use system, user, assistant or tool"
            )
        content: Any = self.content
        if isinstance(content, list):
            object.__setattr__(self, "content", tuple(content))
        elif not isinstance(content, (str, tuple)):
            raise ConfigurationError(
                f"message content must be a str or a list of content blocks, "
                f"not {type(content).__name__}"
            )
        if isinstance(self.content, tuple):
            for block in self.content:
                if getattr(block, "type", None) not in _BLOCK_TYPES:
                    raise ConfigurationError(
                        f"{block!r} is not a content block (TextBlock, ImageBlock, ...)"
                    )
        if self.role == "tool" and not self.tool_call_id:
            raise ConfigurationError("a tool message needs tool_call_id=")

    # -- constructors -------------------------------------------------------------
    @classmethod
    def system(cls, text: str) -> Message:
        return cls("system", text)

    @classmethod
    def user(cls, content: str | Sequence[ContentBlock]) -> Message:
        return cls("user", content if isinstance(content, str) else tuple(content))

    @classmethod
    def assistant(
        cls, content: str | Sequence[ContentBlock] = "", *, tool_calls: Sequence[Any] = ()
    ) -> Message:
        blocks: list[ContentBlock] = []
        if isinstance(content, str):
            if content:
                blocks.append(TextBlock(content))
        else:
            blocks.extend(content)
        for call in tool_calls:
            blocks.append(ToolUseBlock(call.id, call.name, dict(call.arguments)))
        if len(blocks) == 1 and isinstance(blocks[0], TextBlock) and not tool_calls:
            return cls("assistant", blocks[0].text)
        return cls("assistant", tuple(blocks))

    @classmethod
    def tool(cls, tool_call_id: str, content: str, *, name: str | None = None,
             is_error: bool = False) -> Message:
        if is_error:
            return cls("tool", (ToolResultBlock(tool_call_id, content, name, True),),
                       name=name, tool_call_id=tool_call_id)
        return cls("tool", content, name=name, tool_call_id=tool_call_id)

    # -- views --------------------------------------------------------------------
    @property
    def blocks(self) -> tuple[ContentBlock, ...]:
        if isinstance(self.content, str):
            return (TextBlock(self.content),) if self.content else ()
        return self.content

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    @property
    def tool_uses(self) -> list[ToolUseBlock]:
        return [b for b in self.blocks if isinstance(b, ToolUseBlock)]

    @property
    def thinking(self) -> list[ThinkingBlock]:
        return [b for b in self.blocks if isinstance(b, ThinkingBlock)]
