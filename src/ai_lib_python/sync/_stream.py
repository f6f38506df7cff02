"""Synchronous streams: the async streams iterated by one task on the facade's loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ai_lib_python.sync._runner import RUNNER
from ai_lib_python.types import CallStats, ChatResponse, PartialContentDelta, StreamEvent

if TYPE_CHECKING:
    from ai_lib_python.client import ChatStream as AsyncChatStream
    from ai_lib_python.structured import StructuredStream as AsyncStructuredStream

T = TypeVar("T")
_Item = TypeVar("_Item")
_Item_co = TypeVar("_Item_co", covariant=True)
_END = object()


class _AsyncSource(Protocol[_Item_co]):
    def __aiter__(self) -> AsyncIterator[_Item_co]: ...

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None: ...


class _Pump(Generic[_Item]):
    """Hands the items of an async stream to a synchronous consumer, one at a time.

    One task on the facade's loop iterates the source from start to end, so every
    layer underneath sees a single task (context variables, trace spans and cancel
    scopes stay where they were entered). It reads at most one item ahead.
    """

    __slots__ = ("_closed", "_done", "_queue", "_source", "_task")

    def __init__(self, source: _AsyncSource[_Item]) -> None:
        self._source = source
        self._queue: asyncio.Queue[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._done = False
        self._closed = False

    def next(self) -> _Item:
        if self._done or self._closed:
            raise StopIteration
        item = RUNNER.run(self._next())
        if item is _END:
            self._done = True
            raise StopIteration
        if isinstance(item, BaseException):
            self._done = True
            self.close()
            raise item
        value: _Item = item
        return value

    async def _next(self) -> Any:
        if self._queue is None:
            self._queue = asyncio.Queue(maxsize=1)
            self._task = asyncio.get_running_loop().create_task(self._run(self._queue))
        return await self._queue.get()

    async def _run(self, queue: asyncio.Queue[Any]) -> None:
        source = self._source
        try:
            try:
                async for item in source:
                    await queue.put(item)
            finally:
                await source.__aexit__(None, None, None)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            await queue.put(exc)
            return
        await queue.put(_END)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        RUNNER.run(self._aclose())

    async def _aclose(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except BaseException:
                pass
        await self._source.__aexit__(None, None, None)

    def read(self, getter: Any) -> Any:
        """Run ``getter()`` on the loop thread (where the stream's state changes)."""

        async def get() -> Any:
            return getter()

        return RUNNER.run(get())


class ChatStream:
    """The events of one streamed call, for synchronous code.

    Use it as ``with client.chat().user("hi").stream() as stream: for event in
    stream: ...``; the events are the same classes the async stream yields, and
    ``stream.response`` is the ChatResponse assembled so far. Leaving the ``with``
    block early closes the HTTP response.
    """

    __slots__ = ("_astream", "_pump")

    def __init__(self, astream: AsyncChatStream) -> None:
        self._astream = astream
        self._pump: _Pump[StreamEvent] = _Pump(astream)

    # -- context manager ----------------------------------------------------------
    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- iteration ----------------------------------------------------------------
    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> StreamEvent:
        return self._pump.next()

    def close(self) -> None:
        """Stop the stream and close its HTTP response. Safe to call twice."""
        self._pump.close()

    # -- results ------------------------------------------------------------------
    @property
    def response(self) -> ChatResponse:
        """The response assembled from the events so far (complete once drained)."""
        response: ChatResponse = self._pump.read(lambda: self._astream.response)
        return response

    @property
    def stats(self) -> CallStats:
        """Facts about the call so far (latency, time to first token, attempts)."""
        stats: CallStats = self._astream.stats
        return stats

    def collect(self) -> ChatResponse:
        """Drain the stream and return the assembled response."""
        with self:
            for _ in self:
                pass
        return self.response

    def text(self) -> Iterator[str]:
        """Only the text deltas of the first candidate."""
        with self:
            for event in self:
                if type(event) is PartialContentDelta and event.candidate_index == 0:
                    yield event.content


class StructuredStream(Generic[T]):
    """Partial values of a streamed structured answer, for synchronous code.

    Each item is the answer so far (a dict for an object type), yielded whenever it
    grew; when the stream ends the answer is validated and ``value`` holds it (or
    iteration raises StructuredOutputError).
    """

    __slots__ = ("_astream", "_pump")

    def __init__(self, astream: AsyncStructuredStream[T]) -> None:
        self._astream = astream
        self._pump: _Pump[Any] = _Pump(astream)

    def __enter__(self) -> StructuredStream[T]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc: BaseException | None, tb: TracebackType | None) -> None:
        self._pump.close()

    def __iter__(self) -> StructuredStream[T]:
        return self

    def __next__(self) -> Any:
        return self._pump.next()

    @property
    def value(self) -> T:
        """The validated answer (once the stream has ended)."""
        value: T = self._pump.read(lambda: self._astream.value)
        return value

    @property
    def response(self) -> ChatResponse:
        """The response assembled from the stream so far."""
        response: ChatResponse = self._pump.read(lambda: self._astream.response)
        return response

    def final(self) -> T:
        """Drain the stream and return the validated answer."""
        with self:
            for _ in self:
                pass
        return self.value
