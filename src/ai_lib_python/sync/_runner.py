"""The private event loop of the synchronous facade.

One loop per process, on a daemon thread started the first time a synchronous call
needs it. Every coroutine of the facade runs there, so a synchronous call works the
same from a plain script, from a worker thread, and from code that already runs an
event loop (a Jupyter cell, a coroutine calling a blocking helper). At interpreter
exit the loop closes the clients still open, cancels what is left, and its thread is
joined. A forked child starts a fresh loop of its own on first use.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

_T = TypeVar("_T")

_JOIN_TIMEOUT_S = 5.0


class _Closable(Protocol):
    async def close(self) -> None: ...


class LoopThread:
    """An event loop running forever on its own daemon thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._open: weakref.WeakSet[Any] = weakref.WeakSet()

    @property
    def running(self) -> bool:
        """Whether the loop thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def thread(self) -> threading.Thread | None:
        """The loop's thread, once started."""
        return self._thread

    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop; started on first use."""
        loop = self._loop
        if loop is not None and self.running:
            return loop
        with self._lock:
            if self._loop is None or not self.running:
                self._start()
            assert self._loop is not None
            return self._loop

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                try:
                    loop.run_until_complete(loop.shutdown_asyncgens())
                finally:
                    loop.close()

        thread = threading.Thread(target=run, name="ai-lib-sync-loop", daemon=True)
        self._loop, self._thread = loop, thread
        thread.start()
        ready.wait()

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float | None = None) -> _T:
        """Run ``coro`` on the loop and block until it is done; return its result.

        Interrupting the wait (Ctrl-C, or ``timeout``) cancels the coroutine, then
        re-raises.
        """
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError(
                "a synchronous ai_lib_python.sync call was made from its own event loop; "
                "inside async code use the async API (ai_lib_python.AiClient)")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop())
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()  # asks the loop to cancel the task; a no-op once it is done
            raise

    def track(self, client: _Closable) -> None:
        """Close ``client`` at exit if it is still open then."""
        self._open.add(client)

    def untrack(self, client: _Closable) -> None:
        """Forget a closed client."""
        self._open.discard(client)

    def shutdown(self) -> None:
        """Close the tracked clients, cancel what remains, stop the loop, join its thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None or not thread.is_alive():
            return
        clients = list(self._open)
        self._open = weakref.WeakSet()

        async def finish() -> None:
            for client in clients:
                try:
                    await client.close()
                except Exception:  # exit must go on; nothing to report to
                    pass
            me = asyncio.current_task()
            rest = [t for t in asyncio.all_tasks() if t is not me]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(finish(), loop).result(_JOIN_TIMEOUT_S)
        except Exception:
            pass
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_JOIN_TIMEOUT_S)

    def _after_fork(self) -> None:
        # The parent's loop thread does not exist in a forked child.
        self._lock = threading.Lock()
        self._loop = self._thread = None
        self._open = weakref.WeakSet()


RUNNER = LoopThread()
atexit.register(RUNNER.shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=RUNNER._after_fork)


def run(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` on the process's facade loop and return its result."""
    return RUNNER.run(coro)
