"""Content blocks: the parts of a message, as a discriminated union on ``type``."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Literal

from ai_lib_python.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Plain text."""

    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class ImageBlock:
    """An image by URL or inline base64 data (``data`` + ``media_type``)."""

    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    detail: str | None = None
    type: Literal["image"] = "image"

    def __post_init__(self) -> None:
        if (self.url is None) == (self.data is None):
            raise ConfigurationError("ImageBlock needs exactly one of url= or data=")
        if self.data is not None and not self.media_type:
            raise ConfigurationError("ImageBlock with data= needs media_type= (e.g. image/png)")

    @classmethod
    def from_bytes(cls, raw: bytes, media_type: str, *, detail: str | None = None) -> ImageBlock:
        return cls(data=base64.b64encode(raw).decode("ascii"), media_type=media_type,
                   detail=detail)


@dataclass(frozen=True, slots=True)
class AudioBlock:
    """Inline audio, base64 ``data`` in ``format`` (wav, mp3, ...)."""

    data: str
    format: str = "wav"
    type: Literal["audio"] = "audio"


@dataclass(frozen=True, slots=True)
class DocumentBlock:
    """A document (PDF, text) by inline base64 ``data`` or by ``url``."""

    data: str | None = None
    url: str | None = None
    media_type: str = "application/pdf"
    title: str | None = None
    type: Literal["document"] = "document"

    def __post_init__(self) -> None:
        if (self.url is None) == (self.data is None):
            raise ConfigurationError("DocumentBlock needs exactly one of url= or data=")


@dataclass(frozen=True, slots=True)
class ToolUseBlock:
    """A tool call made by the assistant."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    signature: str | None = None
    type: Literal["tool_use"] = "tool_use"


@dataclass(frozen=True, slots=True)
class ToolResultBlock:
    """The result of a tool call, sent back by the user side."""

    tool_call_id: str
    content: str
    name: str | None = None
    is_error: bool = False
    type: Literal["tool_result"] = "tool_result"


@dataclass(frozen=True, slots=True)
class ThinkingBlock:
    """Reasoning text. ``signature`` / ``redacted`` keep what a provider needs back."""

    thinking: str = ""
    signature: str | None = None
    redacted: str | None = None
    type: Literal["thinking"] = "thinking"


ContentBlock = (
    TextBlock
    | ImageBlock
    | AudioBlock
    | DocumentBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
)
