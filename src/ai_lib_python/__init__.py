"""ai-lib-python: one async, typed client for every LLM provider, driven by
AI-Protocol manifests.

    from ai_lib_python import AiClient

    async with await AiClient.create("openai/gpt-4o") as client:
        resp = await client.chat().user("2+2?").execute()

Names are imported lazily, so ``import ai_lib_python`` stays cheap; each name
below is loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ai_lib_python._version import __version__

_EXPORTS: dict[str, str] = {
    # client
    "AiClient": "ai_lib_python.client",
    "AiClientBuilder": "ai_lib_python.client",
    "ChatRequestBuilder": "ai_lib_python.client",
    "ChatStream": "ai_lib_python.client",
    "CancellableStream": "ai_lib_python.client",
    "CancelToken": "ai_lib_python.client",
    # types
    "AudioBlock": "ai_lib_python.types",
    "CallStats": "ai_lib_python.types",
    "Candidate": "ai_lib_python.types",
    "ChatRequest": "ai_lib_python.types",
    "ChatResponse": "ai_lib_python.types",
    "ContentBlock": "ai_lib_python.types",
    "DocumentBlock": "ai_lib_python.types",
    "FinalCandidate": "ai_lib_python.types",
    "ImageBlock": "ai_lib_python.types",
    "Message": "ai_lib_python.types",
    "Metadata": "ai_lib_python.types",
    "PartialContentDelta": "ai_lib_python.types",
    "PartialToolCall": "ai_lib_python.types",
    "StreamEnd": "ai_lib_python.types",
    "StreamError": "ai_lib_python.types",
    "StreamEvent": "ai_lib_python.types",
    "TextBlock": "ai_lib_python.types",
    "ThinkingBlock": "ai_lib_python.types",
    "ThinkingDelta": "ai_lib_python.types",
    "ToolCall": "ai_lib_python.types",
    "ToolCallEnded": "ai_lib_python.types",
    "ToolCallStarted": "ai_lib_python.types",
    "ToolDefinition": "ai_lib_python.types",
    "ToolResultBlock": "ai_lib_python.types",
    "ToolUseBlock": "ai_lib_python.types",
    "Usage": "ai_lib_python.types",
    # errors
    "AiLibError": "ai_lib_python.errors",
    "CancelledError": "ai_lib_python.errors",
    "ClientClosedError": "ai_lib_python.errors",
    "ConfigurationError": "ai_lib_python.errors",
    "ConnectError": "ai_lib_python.errors",
    "ConnectTimeoutError": "ai_lib_python.errors",
    "FirstTokenTimeoutError": "ai_lib_python.errors",
    "IdleTimeoutError": "ai_lib_python.errors",
    "ProtocolError": "ai_lib_python.errors",
    "ProviderError": "ai_lib_python.errors",
    "StreamDecodeError": "ai_lib_python.errors",
    "TotalTimeoutError": "ai_lib_python.errors",
    "TransportError": "ai_lib_python.errors",
    # protocol and transport
    "ProtocolLoader": "ai_lib_python.protocol",
    "ProtocolManifest": "ai_lib_python.protocol",
    "Timeout": "ai_lib_python.transport",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ai_lib_python' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from ai_lib_python.client import (
        AiClient,
        AiClientBuilder,
        CancellableStream,
        CancelToken,
        ChatRequestBuilder,
        ChatStream,
    )
    from ai_lib_python.errors import (
        AiLibError,
        CancelledError,
        ClientClosedError,
        ConfigurationError,
        ConnectError,
        ConnectTimeoutError,
        FirstTokenTimeoutError,
        IdleTimeoutError,
        ProtocolError,
        ProviderError,
        StreamDecodeError,
        TotalTimeoutError,
        TransportError,
    )
    from ai_lib_python.protocol import ProtocolLoader, ProtocolManifest
    from ai_lib_python.transport import Timeout
    from ai_lib_python.types import (
        AudioBlock,
        CallStats,
        Candidate,
        ChatRequest,
        ChatResponse,
        ContentBlock,
        DocumentBlock,
        FinalCandidate,
        ImageBlock,
        Message,
        Metadata,
        PartialContentDelta,
        PartialToolCall,
        StreamEnd,
        StreamError,
        StreamEvent,
        TextBlock,
        ThinkingBlock,
        ThinkingDelta,
        ToolCall,
        ToolCallEnded,
        ToolCallStarted,
        ToolDefinition,
        ToolResultBlock,
        ToolUseBlock,
        Usage,
    )
