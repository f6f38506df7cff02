"""Backpressure: at most ``max_inflight`` calls of one client at once, never an
unbounded queue.

A call holds its slot from admission to its end: across retries and fallbacks, and
for a stream until the stream is exhausted or closed. A call that finds every slot
busy waits in FIFO order, at most ``queue_timeout_s``; then BackpressureError.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ai_lib_python.errors import BackpressureError
from ai_lib_python.resilience._config import Sleep, default_sleep


class Backpressure:
    """A FIFO semaphore with a queue timeout and counters."""

    def __init__(self, max_inflight: int, queue_timeout_s: float, *,
                 sleep: Sleep = default_sleep) -> None:
        if max_inflight < 1:
            raise ValueError("max_inflight must be at least 1")
        self.max_inflight = max_inflight
        self.queue_timeout_s = queue_timeout_s
        self._sleep = sleep
        self._free = max_inflight
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def in_flight(self) -> int:
        """Slots held right now."""
        return self.max_inflight - self._free

    @property
    def queued(self) -> int:
        """Calls waiting for a slot."""
        return sum(1 for f in self._waiters if not f.done())

    async def acquire(self) -> float:
        """Take a slot; returns the seconds queued (0 on the fast path)."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return 0.0
        loop = asyncio.get_running_loop()
        started = loop.time()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.append(fut)
        timer = loop.create_task(self._expire(fut))
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self.release()  # handed a slot while being cancelled: pass it on
            else:
                try:
                    self._waiters.remove(fut)
                except ValueError:
                    pass
            raise
        finally:
            timer.cancel()
        return loop.time() - started

    async def _expire(self, fut: asyncio.Future[None]) -> None:
        await self._sleep(self.queue_timeout_s)
        if not fut.done():
            fut.set_exception(BackpressureError(self.max_inflight, self.queue_timeout_s))

    def release(self) -> None:
        """Free a slot: hand it to the first waiter still waiting, else return it."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self._free += 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Hold a slot for the body of the ``async with``; yields the seconds queued."""
        waited = await self.acquire()
        try:
            yield waited
        finally:
            self.release()


__all__ = ["Backpressure"]
