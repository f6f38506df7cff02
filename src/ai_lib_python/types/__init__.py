"""Provider-neutral value types: messages, content blocks, tools, usage, stream events."""

from ai_lib_python.types._content import (
    AudioBlock,
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from ai_lib_python.types._events import (
    FinalCandidate,
    Metadata,
    PartialContentDelta,
    PartialToolCall,
    StreamEnd,
    StreamError,
    StreamEvent,
    ThinkingDelta,
    ToolCallEnded,
    ToolCallStarted,
)
from ai_lib_python.types._messages import Message, Role
from ai_lib_python.types._request import ChatRequest
from ai_lib_python.types._response import CallStats, Candidate, ChatResponse
from ai_lib_python.types._tools import ToolCall, ToolChoice, ToolDefinition
from ai_lib_python.types._usage import Usage, normalize_usage

__all__ = [
    "AudioBlock",
    "CallStats",
    "Candidate",
    "ChatRequest",
    "ChatResponse",
    "ContentBlock",
    "DocumentBlock",
    "FinalCandidate",
    "ImageBlock",
    "Message",
    "Metadata",
    "PartialContentDelta",
    "PartialToolCall",
    "Role",
    "StreamEnd",
    "StreamError",
    "StreamEvent",
    "TextBlock",
    "ThinkingBlock",
    "ThinkingDelta",
    "ToolCall",
    "ToolCallEnded",
    "ToolCallStarted",
    "ToolChoice",
    "ToolDefinition",
    "ToolResultBlock",
    "ToolUseBlock",
    "Usage",
    "normalize_usage",
]
