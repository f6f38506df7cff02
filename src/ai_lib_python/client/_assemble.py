"""Assembly of the one execution path, in one place.

::

    ChatRequest
      -> layers by stage: plugins (10) -> guardrails (20) -> cache (30) -> telemetry (40)
      -> executor: retry / fallback / routing over the targets, each target behind
         its preflight gate (circuit breaker, rate limiter, backpressure)
      -> Endpoint (wire encode -> transport -> decode / stream pipeline)

A *layer* wraps a handler with one of the same interface. The *executor* turns the
list of target endpoints (the primary model plus fallbacks or routes) into one
handler. Without an executor the path is the primary endpoint alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ai_lib_python.client._context import CallContext, ChatHandler, EventBatch
from ai_lib_python.client._endpoint import Endpoint
from ai_lib_python.types import ChatRequest, ChatResponse

STAGE_PLUGINS = 10
STAGE_GUARDRAILS = 20
STAGE_CACHE = 30
STAGE_TELEMETRY = 40


@dataclass(frozen=True, slots=True)
class Target:
    """A model to call: the primary one, a fallback or a route member."""

    model: str
    api_key: str | None = None
    base_url: str | None = None
    headers: Mapping[str, str] | None = None
    weight: float = 1.0


@runtime_checkable
class Layer(Protocol):
    """A cross-cutting feature: ``wrap`` returns a handler around ``inner``."""

    stage: int

    def wrap(self, inner: ChatHandler) -> ChatHandler: ...


@runtime_checkable
class Executor(Protocol):
    """Turns the targets of a client into one handler (retry, fallback, routing)."""

    def build(self, targets: Sequence[Endpoint]) -> ChatHandler: ...


class _Single:
    """The plain path: one endpoint, nothing around it."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint

    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        return await self._endpoint.execute(request, ctx)

    def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[EventBatch]:
        return self._endpoint.stream(request, ctx)

    async def aclose(self) -> None:
        return None


def assemble(targets: Sequence[Endpoint], *, executor: Executor | None = None,
             layers: Sequence[Layer] = ()) -> ChatHandler:
    """Build the handler chain for a client."""
    if not targets:
        raise ValueError("a client needs at least one target")
    handler: ChatHandler = executor.build(targets) if executor is not None else (
        _Single(targets[0]))
    # Innermost first: the highest stage wraps closest to the executor.
    for layer in sorted(layers, key=lambda lay: lay.stage, reverse=True):
        handler = layer.wrap(handler)
    return handler
