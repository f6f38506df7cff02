"""BatchCollector: gathers items submitted over time into batches by size or time window."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class BatchCollector(Generic[T, R]):
    """Collects submitted items and hands them to ``handler`` in batches.

    A batch goes when it holds ``max_size`` items, or ``max_wait`` seconds after its
    first item arrived, whichever comes first. Each :meth:`submit` returns the result
    for its own item (``handler`` returns one result per item, in order); when the
    handler fails, every item of that batch gets the error.

    Args:
        handler: Processes one batch.
        max_size: Items per batch at most.
        max_wait: Seconds the first item of a batch waits for company.
        clock: Monotonic seconds; ``sleep``: waits. Both injectable, so tests need no
            wall-clock time.
    """

    def __init__(self, handler: Callable[[list[T]], Awaitable[Sequence[R]]], *,
                 max_size: int = 64, max_wait: float = 0.05, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        if max_wait < 0:
            raise ValueError("max_wait must not be negative")
        self._handler = handler
        self.max_size = max_size
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._items: list[tuple[T, asyncio.Future[R]]] = []
        self._opened = 0.0
        self._timer: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._closed = False
        self.batches = 0

    @property
    def pending(self) -> int:
        """Items waiting for their batch to go."""
        return len(self._items)

    async def submit(self, item: T) -> R:
        """Add ``item``; wait for and return its result."""
        if self._closed:
            raise RuntimeError("this BatchCollector is closed")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        if not self._items:
            self._opened = self._clock()
            if self.max_wait > 0 and self.max_size > 1:
                self._timer = asyncio.ensure_future(self._wait_window())
        self._items.append((item, future))
        if len(self._items) >= self.max_size or self.max_wait == 0:
            self._dispatch()
        return await future

    async def _wait_window(self) -> None:
        while self._items:
            remaining = self._opened + self.max_wait - self._clock()
            if remaining <= 0:
                self._timer = None
                self._dispatch()
                return
            await self._sleep(remaining)

    def _dispatch(self) -> None:
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
        self._timer = None
        batch, self._items = self._items, []
        if not batch:
            return
        self.batches += 1
        task = asyncio.ensure_future(self._run(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._handler([item for item, _ in batch])
            if len(results) != len(batch):
                raise ValueError(
                    f"batch handler returned {len(results)} results for {len(batch)} items")
        except BaseException as exc:
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, fut), result in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(result)

    async def flush(self) -> None:
        """Send the waiting items now and wait for every batch in flight."""
        self._dispatch()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def aclose(self) -> None:
        """Flush, then refuse new items."""
        await self.flush()
        self._closed = True
