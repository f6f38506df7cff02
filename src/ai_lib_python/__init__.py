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

__all__ = [
    "AiClient",
    "AiClientBuilder",
    "AiLibError",
    "AudioBlock",
    "CallStats",
    "CancelToken",
    "CancellableStream",
    "CancelledError",
    "Candidate",
    "ChatRequest",
    "ChatRequestBuilder",
    "ChatResponse",
    "ChatStream",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectError",
    "ConnectTimeoutError",
    "ContentBlock",
    "DocumentBlock",
    "FinalCandidate",
    "FirstTokenTimeoutError",
    "IdleTimeoutError",
    "ImageBlock",
    "Message",
    "Metadata",
    "PartialContentDelta",
    "PartialToolCall",
    "ProtocolError",
    "ProtocolLoader",
    "ProtocolManifest",
    "ProviderError",
    "StreamDecodeError",
    "StreamEnd",
    "StreamError",
    "StreamEvent",
    "TextBlock",
    "ThinkingBlock",
    "ThinkingDelta",
    "Timeout",
    "ToolCall",
    "ToolCallEnded",
    "ToolCallStarted",
    "ToolDefinition",
    "ToolResultBlock",
    "ToolUseBlock",
    "TotalTimeoutError",
    "TransportError",
    "Usage",
    "__version__",
]


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
    )
    from ai_lib_python.client import (
        AiClientBuilder as AiClientBuilder,
    )
    from ai_lib_python.client import (
        CancellableStream as CancellableStream,
    )
    from ai_lib_python.client import (
        CancelToken as CancelToken,
    )
    from ai_lib_python.client import (
        ChatRequestBuilder as ChatRequestBuilder,
    )
    from ai_lib_python.client import (
        ChatStream as ChatStream,
    )
    from ai_lib_python.errors import (
        AiLibError as AiLibError,
    )
    from ai_lib_python.errors import (
        CancelledError as CancelledError,
    )
    from ai_lib_python.errors import (
        ClientClosedError as ClientClosedError,
    )
    from ai_lib_python.errors import (
        ConfigurationError as ConfigurationError,
    )
    from ai_lib_python.errors import (
        ConnectError as ConnectError,
    )
    from ai_lib_python.errors import (
        ConnectTimeoutError as ConnectTimeoutError,
    )
    from ai_lib_python.errors import (
        FirstTokenTimeoutError as FirstTokenTimeoutError,
    )
    from ai_lib_python.errors import (
        IdleTimeoutError as IdleTimeoutError,
    )
    from ai_lib_python.errors import (
        ProtocolError as ProtocolError,
    )
    from ai_lib_python.errors import (
        ProviderError as ProviderError,
    )
    from ai_lib_python.errors import (
        StreamDecodeError as StreamDecodeError,
    )
    from ai_lib_python.errors import (
        TotalTimeoutError as TotalTimeoutError,
    )
    from ai_lib_python.errors import (
        TransportError as TransportError,
    )
    from ai_lib_python.protocol import ProtocolLoader as ProtocolLoader
    from ai_lib_python.protocol import ProtocolManifest as ProtocolManifest
    from ai_lib_python.transport import Timeout as Timeout
    from ai_lib_python.types import (
        AudioBlock as AudioBlock,
    )
    from ai_lib_python.types import (
        CallStats as CallStats,
    )
    from ai_lib_python.types import (
        Candidate as Candidate,
    )
    from ai_lib_python.types import (
        ChatRequest as ChatRequest,
    )
    from ai_lib_python.types import (
        ChatResponse as ChatResponse,
    )
    from ai_lib_python.types import (
        ContentBlock as ContentBlock,
    )
    from ai_lib_python.types import (
        DocumentBlock as DocumentBlock,
    )
    from ai_lib_python.types import (
        FinalCandidate as FinalCandidate,
    )
    from ai_lib_python.types import (
        ImageBlock as ImageBlock,
    )
    from ai_lib_python.types import (
        Message as Message,
    )
    from ai_lib_python.types import (
        Metadata as Metadata,
    )
    from ai_lib_python.types import (
        PartialContentDelta as PartialContentDelta,
    )
    from ai_lib_python.types import (
        PartialToolCall as PartialToolCall,
    )
    from ai_lib_python.types import (
        StreamEnd as StreamEnd,
    )
    from ai_lib_python.types import (
        StreamError as StreamError,
    )
    from ai_lib_python.types import (
        StreamEvent as StreamEvent,
    )
    from ai_lib_python.types import (
        TextBlock as TextBlock,
    )
    from ai_lib_python.types import (
        ThinkingBlock as ThinkingBlock,
    )
    from ai_lib_python.types import (
        ThinkingDelta as ThinkingDelta,
    )
    from ai_lib_python.types import (
        ToolCall as ToolCall,
    )
    from ai_lib_python.types import (
        ToolCallEnded as ToolCallEnded,
    )
    from ai_lib_python.types import (
        ToolCallStarted as ToolCallStarted,
    )
    from ai_lib_python.types import (
        ToolDefinition as ToolDefinition,
    )
    from ai_lib_python.types import (
        ToolResultBlock as ToolResultBlock,
    )
    from ai_lib_python.types import (
        ToolUseBlock as ToolUseBlock,
    )
    from ai_lib_python.types import (
        Usage as Usage,
    )
