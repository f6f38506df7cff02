"""Per-call state shared by the layers of the execution path, and the handler interface."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ai_lib_python.errors import CancelledError
from ai_lib_python.types import (
    CallStats,
    ChatRequest,
    ChatResponse,
    PartialContentDelta,
    StreamEvent,
    ThinkingDelta,
    ToolCallStarted,
)

FIRST_TOKEN_EVENTS = (PartialContentDelta, ThinkingDelta, ToolCallStarted)
"""The events whose arrival is the call's first token."""


class CancelToken:
    """Cancels the calls and streams it is given, from any task or thread."""

    __slots__ = ("_callbacks", "_cancelled", "_lock", "reason")

    def __init__(self) -> None:
        self._cancelled = False
        self.reason: str | None = None
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancelled

    def cancel(self, reason: str = "cancelled by the caller") -> None:
        """Cancel the calls and streams given this token; safe from any thread."""
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            self.reason = reason
            callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Register ``callback``; returns a function that unregisters it."""
        with self._lock:
            if not self._cancelled:
                self._callbacks.append(callback)

                def remove() -> None:
                    with self._lock:
                        if callback in self._callbacks:
                            self._callbacks.remove(callback)

                return remove
        callback()
        return lambda: None

    def raise_if_cancelled(self) -> None:
        """Raise CancelledError if the token was cancelled."""
        if self._cancelled:
            raise CancelledError(self.reason or "cancelled")


@dataclass(slots=True)
class CallContext:
    """What one call carries through the layers."""

    stats: CallStats
    cancel: CancelToken | None = None
    call_id: str = field(default_factory=lambda: os.urandom(16).hex())
    started: float = field(default_factory=time.monotonic)
    response_factory: Callable[[], ChatResponse] | None = None
    events_yielded: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)


def stamp_first_token(events: list[StreamEvent], ctx: CallContext) -> bool:
    """Record the time to first token when ``events`` hold it; True once recorded."""
    for ev in events:
        if isinstance(ev, FIRST_TOKEN_EVENTS):
            ctx.stats.time_to_first_token_ms = (time.monotonic() - ctx.started) * 1000.0
            return True
    return False


EventBatch = list[StreamEvent]
"""Events in the order they happened, passed between layers together.

A handler's ``stream`` yields batches, never empty: the events decoded from one
network read (at most ``MAX_BATCH``), so a fast stream costs each layer one step
per read rather than one per event, while a paced stream's batches hold a single
event. The receiver owns a batch and may change it; ``ChatStream`` hands the events
to the caller one at a time.
"""

MAX_BATCH = 128
"""The endpoint ends a batch once it holds this many events (the events of one
frame are never split, so a frame with several candidates may go a little over)."""


class ChatHandler(Protocol):
    """The interface every layer of the execution path implements and wraps."""

    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse: ...

    def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[EventBatch]: ...

    async def aclose(self) -> None: ...


async def run_cancellable(coro: Any, token: CancelToken | None) -> Any:
    """Await ``coro``; a cancel through ``token`` interrupts it with CancelledError (E4002)."""
    import asyncio  # deferred: importing the package does not need asyncio

    if token is None:
        return await coro
    if token.cancelled:
        coro.close()
        token.raise_if_cancelled()
    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    def interrupt() -> None:
        loop.call_soon_threadsafe(task.cancel)

    remove = token.on_cancel(interrupt)
    try:
        return await task
    except asyncio.CancelledError:
        if token.cancelled:
            raise CancelledError(token.reason or "cancelled") from None
        raise
    finally:
        remove()
