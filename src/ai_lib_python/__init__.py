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
        AiClient as AiClient,
        AiClientBuilder as AiClientBuilder,
        CancellableStream as CancellableStream,
        CancelToken as CancelToken,
        ChatRequestBuilder as ChatRequestBuilder,
        ChatStream as ChatStream,
    )
    from ai_lib_python.errors import (
        AiLibError as AiLibError,
        CancelledError as CancelledError,
        ClientClosedError as ClientClosedError,
        ConfigurationError as ConfigurationError,
        ConnectError as ConnectError,
        ConnectTimeoutError as ConnectTimeoutError,
        FirstTokenTimeoutError as FirstTokenTimeoutError,
        IdleTimeoutError as IdleTimeoutError,
        ProtocolError as ProtocolError,
        ProviderError as ProviderError,
        StreamDecodeError as StreamDecodeError,
        TotalTimeoutError as TotalTimeoutError,
        TransportError as TransportError,
    )
    from ai_lib_python.protocol import ProtocolLoader as ProtocolLoader
    from ai_lib_python.protocol import ProtocolManifest as ProtocolManifest
    from ai_lib_python.transport import Timeout as Timeout
    from ai_lib_python.types import (
        AudioBlock as AudioBlock,
        CallStats as CallStats,
        Candidate as Candidate,
        ChatRequest as ChatRequest,
        ChatResponse as ChatResponse,
        ContentBlock as ContentBlock,
        DocumentBlock as DocumentBlock,
        FinalCandidate as FinalCandidate,
        ImageBlock as ImageBlock,
        Message as Message,
        Metadata as Metadata,
        PartialContentDelta as PartialContentDelta,
        PartialToolCall as PartialToolCall,
        StreamEnd as StreamEnd,
        StreamError as StreamError,
        StreamEvent as StreamEvent,
        TextBlock as TextBlock,
        ThinkingBlock as ThinkingBlock,
        ThinkingDelta as ThinkingDelta,
        ToolCall as ToolCall,
        ToolCallEnded as ToolCallEnded,
        ToolCallStarted as ToolCallStarted,
        ToolDefinition as ToolDefinition,
        ToolResultBlock as ToolResultBlock,
        ToolUseBlock as ToolUseBlock,
        Usage as Usage,
    )
