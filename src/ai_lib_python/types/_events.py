"""Stream events, named as in AI-Protocol, as a discriminated union on ``type``.

Match on the class::

    match event:
        case PartialContentDelta(content=text): ...
        case ToolCallEnded(tool_call=call): ...

Events are created per chunk, so they are plain slotted dataclasses; treat them
as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ai_lib_python.types._tools import ToolCall
from ai_lib_python.types._usage import Usage


@dataclass(slots=True)
class PartialContentDelta:
    """A fragment of answer text for one candidate."""

    content: str
    candidate_index: int = 0
    type: Literal["PartialContentDelta"] = "PartialContentDelta"


@dataclass(slots=True)
class ThinkingDelta:
    """A fragment of reasoning text; ``signature`` arrives with Anthropic and Gemini."""

    thinking: str
    candidate_index: int = 0
    signature: str | None = None
    redacted: str | None = None
    type: Literal["ThinkingDelta"] = "ThinkingDelta"


@dataclass(slots=True)
class ToolCallStarted:
    """The model began a tool call: its id and name, arguments to follow."""

    tool_call_id: str
    tool_name: str
    index: int | None = None
    candidate_index: int = 0
    type: Literal["ToolCallStarted"] = "ToolCallStarted"


@dataclass(slots=True)
class PartialToolCall:
    """A fragment of a tool call's JSON arguments, keyed by ``index`` or ``tool_call_id``."""

    arguments: str
    index: int | None = None
    tool_call_id: str | None = None
    candidate_index: int = 0
    type: Literal["PartialToolCall"] = "PartialToolCall"


@dataclass(slots=True)
class ToolCallEnded:
    """A tool call is complete; ``tool_call`` has the parsed arguments."""

    tool_call: ToolCall
    index: int | None = None
    candidate_index: int = 0
    type: Literal["ToolCallEnded"] = "ToolCallEnded"


@dataclass(slots=True)
class Metadata:
    """Usage and other facts about the response (model, id) as they arrive."""

    usage: Usage | None = None
    model: str | None = None
    response_id: str | None = None
    type: Literal["Metadata"] = "Metadata"


@dataclass(slots=True)
class FinalCandidate:
    """A candidate finished. ``finish_reason`` is normalized; ``raw_finish_reason`` is not."""

    finish_reason: str | None
    raw_finish_reason: str | None = None
    candidate_index: int = 0
    type: Literal["FinalCandidate"] = "FinalCandidate"


@dataclass(slots=True)
class StreamEnd:
    """The stream finished normally; the last event of a stream."""

    finish_reason: str | None = None
    type: Literal["StreamEnd"] = "StreamEnd"


@dataclass(slots=True)
class StreamError:
    """An error delivered inside the stream; the stream raises ProviderError after it."""

    code: str
    message: str
    error: Any = None
    type: Literal["StreamError"] = "StreamError"


StreamEvent = (
    PartialContentDelta
    | ThinkingDelta
    | ToolCallStarted
    | PartialToolCall
    | ToolCallEnded
    | Metadata
    | FinalCandidate
    | StreamEnd
    | StreamError
)
