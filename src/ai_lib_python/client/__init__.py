"""The client: AiClient, builders, streams and cancellation."""

from ai_lib_python.client._assemble import (
    STAGE_CACHE,
    STAGE_GUARDRAILS,
    STAGE_PLUGINS,
    STAGE_TELEMETRY,
    Executor,
    Layer,
    Target,
    assemble,
)
from ai_lib_python.client._builder import ChatRequestBuilder, as_tool
from ai_lib_python.client._client import AiClient, AiClientBuilder, build_endpoint, default_loader
from ai_lib_python.client._context import (
    MAX_BATCH,
    CallContext,
    CancelToken,
    ChatHandler,
    EventBatch,
)
from ai_lib_python.client._endpoint import Endpoint
from ai_lib_python.client._stream import ChatStream
from ai_lib_python.types import CallStats, ChatRequest, ChatResponse

CancellableStream = ChatStream

__all__ = [
    "MAX_BATCH",
    "STAGE_CACHE",
    "STAGE_GUARDRAILS",
    "STAGE_PLUGINS",
    "STAGE_TELEMETRY",
    "AiClient",
    "AiClientBuilder",
    "CallContext",
    "CallStats",
    "CancelToken",
    "CancellableStream",
    "ChatHandler",
    "ChatRequest",
    "ChatRequestBuilder",
    "ChatResponse",
    "ChatStream",
    "Endpoint",
    "EventBatch",
    "Executor",
    "Layer",
    "Target",
    "as_tool",
    "assemble",
    "build_endpoint",
    "default_loader",
]
