"""ChatStream: an async context manager and async iterator of typed events.

Leaving it early (break, exception, ``CancelToken.cancel()``) closes the chain of
generators down to the HTTP response, which releases the connection and every
slot a layer holds. ``stream.response`` is the ChatResponse assembled so far.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ai_lib_python.client._context import CallContext, EventBatch
from ai_lib_python.errors import CancelledError
from ai_lib_python.types import ChatResponse, PartialContentDelta, StreamEvent

if TYPE_CHECKING:
    import asyncio


_ASYNCIO: Any = None


def _load_asyncio() -> Any:
    global _ASYNCIO
    import asyncio  # deferred: importing the package does not need asyncio

    _ASYNCIO = asyncio
    return asyncio


class ChatStream:
    """The events of one streamed call."""

    __slots__ = ("_batch", "_closed", "_ctx", "_done", "_factory", "_gen", "_pos", "_remove",
                 "_task")

    def __init__(self, factory: Callable[[], AsyncIterator[EventBatch]], ctx: CallContext) -> None:
        self._factory = factory
        self._ctx = ctx
        self._gen: AsyncIterator[EventBatch] | None = None
        # The batch being handed out, one event per __anext__.
        self._batch: Sequence[StreamEvent] = ()
        self._pos = 0
        self._task: asyncio.Task[Any] | None = None
        self._done = False
        self._closed = False
        self._remove: Callable[[], None] | None = None

    # -- context manager ----------------------------------------------------------
    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    # -- iteration ----------------------------------------------------------------
    def __aiter__(self) -> ChatStream:
        return self

    def _start(self) -> AsyncIterator[EventBatch]:
        token = self._ctx.cancel
        if token is not None:
            token.raise_if_cancelled()
            self._remove = token.on_cancel(self._on_cancel)
        gen = self._gen = self._factory()
        return gen

    def _on_cancel(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.get_loop().call_soon_threadsafe(self._cancel_waiting, task)

    def _cancel_waiting(self, task: asyncio.Task[Any]) -> None:
        # Only while the task still waits in __anext__: a cancel landing later would hit
        # whatever it does next (closing an HTTP response, which then leaks).
        if self._task is task:
            task.cancel()

    async def __anext__(self) -> StreamEvent:
        pos = self._pos
        batch = self._batch
        token = self._ctx.cancel
        if pos < len(batch) and (token is None or not token.cancelled):
            self._pos = pos + 1
            self._ctx.events_yielded += 1
            return batch[pos]
        if self._done or self._closed:
            raise StopAsyncIteration
        gen = self._gen or self._start()
        aio = _ASYNCIO or _load_asyncio()
        if token is not None:  # only a cancel token needs to find the task
            if token.cancelled:  # cancelled while the caller was handling an event
                await self.aclose()
                raise CancelledError(token.reason or "stream cancelled")
            self._task = aio.current_task()
        try:
            batch = await gen.__anext__()
            while not batch:
                batch = await gen.__anext__()
        except StopAsyncIteration:
            self._finish()
            raise
        except aio.CancelledError:
            token = self._ctx.cancel
            await self.aclose()
            if token is not None and token.cancelled:
                raise CancelledError(token.reason or "stream cancelled") from None
            raise
        except BaseException:
            await self.aclose()
            raise
        finally:
            self._task = None
        self._batch = batch
        self._pos = 1
        self._ctx.events_yielded += 1
        return batch[0]

    def _finish(self) -> None:
        self._done = True
        stats = self._ctx.stats
        stats.latency_ms = (time.monotonic() - self._ctx.started) * 1000.0
        if self._remove is not None:
            self._remove()
            self._remove = None

    async def aclose(self) -> None:
        """Stop the stream and close its HTTP response. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._batch = ()
        if self._remove is not None:
            self._remove()
            self._remove = None
        gen = self._gen
        if gen is not None:
            aclose = getattr(gen, "aclose", None)
            if aclose is not None:
                await aclose()
        if not self._done:
            self._ctx.stats.latency_ms = (time.monotonic() - self._ctx.started) * 1000.0

    # -- results ------------------------------------------------------------------
    @property
    def response(self) -> ChatResponse:
        """The response assembled from the events so far (complete once drained)."""
        factory = self._ctx.response_factory
        resp = factory() if factory is not None else ChatResponse([])
        resp.stats = self._ctx.stats
        return resp

    @property
    def stats(self) -> Any:
        """Facts about the call so far (latency, time to first token, attempts)."""
        return self._ctx.stats

    async def collect(self) -> ChatResponse:
        """Drain the stream and return the assembled response."""
        async with self:
            async for _ in self:
                pass
        return self.response

    async def text(self) -> AsyncIterator[str]:
        """Only the text deltas of the first candidate."""
        async with self:
            async for event in self:
                if type(event) is PartialContentDelta and event.candidate_index == 0:
                    yield event.content
