"""BatchExecutor: many chat requests through one client, with bounded concurrency."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ai_lib_python.client import CancelToken
from ai_lib_python.errors import CancelledError
from ai_lib_python.types import ChatRequest, ChatResponse

if TYPE_CHECKING:
    from ai_lib_python.client import AiClient


@dataclass(slots=True)
class BatchResult:
    """The outcome of one request: ``response`` or ``error``, never both."""

    index: int
    id: str
    request: ChatRequest
    response: ChatResponse | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.response is not None


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """Where a batch run stands; given to the progress callback after every item."""

    total: int
    done: int
    succeeded: int
    failed: int
    elapsed_s: float


class BatchExecutor:
    """Runs many requests through ``client`` (so every layer of its execution path,
    resilience included, applies to each), at most ``max_concurrency`` at a time.

    Results come back in input order; a failed item keeps its error and does not stop
    the others. Cancelling ``cancel`` stops the run: requests in flight end with
    :class:`~ai_lib_python.errors.CancelledError` and requests not started get one too.

    Args:
        client: The AiClient to send through.
        max_concurrency: Requests in flight at most.
        on_progress: Called with a :class:`BatchProgress` after each item.
        on_result: Called with each :class:`BatchResult` as it completes (any order).
        progress_bar: Show a ``rich`` progress bar when ``rich`` is importable.
        cancel: Stops the run from any task or thread.
    """

    def __init__(self, client: AiClient, *, max_concurrency: int = 8,
                 on_progress: Callable[[BatchProgress], None] | None = None,
                 on_result: Callable[[BatchResult], None] | None = None,
                 progress_bar: bool = False, cancel: CancelToken | None = None) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.client = client
        self.max_concurrency = max_concurrency
        self.on_progress = on_progress
        self.on_result = on_result
        self.progress_bar = progress_bar and importlib.util.find_spec("rich") is not None
        self.cancel = cancel or CancelToken()

    async def run(self, requests: Iterable[ChatRequest | tuple[str, ChatRequest]]
                  ) -> list[BatchResult]:
        """Send every request; return one :class:`BatchResult` per request, in order.

        An item is a ChatRequest or an ``(id, ChatRequest)`` pair (the id defaults to
        the item's index).
        """
        results: list[BatchResult] = []
        for i, item in enumerate(requests):
            rid, req = item if isinstance(item, tuple) else (str(i), item)
            if not isinstance(req, ChatRequest):
                raise TypeError(f"item {i} is not a ChatRequest: {type(req).__name__}")
            results.append(BatchResult(i, rid, req))
        bar = _RichBar(len(results)) if self.progress_bar else None
        started = time.monotonic()
        counts = [0, 0]  # succeeded, failed
        queue: asyncio.Queue[BatchResult] = asyncio.Queue()
        for result in results:
            queue.put_nowait(result)

        def finished(result: BatchResult) -> None:
            counts[0 if result.ok else 1] += 1
            if self.on_result is not None:
                self.on_result(result)
            progress = BatchProgress(len(results), counts[0] + counts[1], counts[0], counts[1],
                                     time.monotonic() - started)
            if self.on_progress is not None:
                self.on_progress(progress)
            if bar is not None:
                bar.update(progress)

        async def worker() -> None:
            while not queue.empty():
                result = queue.get_nowait()
                if self.cancel.cancelled:
                    result.error = CancelledError(
                        f"not sent: {self.cancel.reason or 'the batch was cancelled'}")
                else:
                    try:
                        result.response = await self.client.execute(result.request,
                                                                    cancel=self.cancel)
                    except Exception as exc:
                        result.error = exc
                finished(result)

        try:
            workers = min(self.max_concurrency, len(results))
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            if bar is not None:
                bar.close()
        return results

    async def run_messages(self, conversations: Sequence[Sequence[Any]],
                           **params: Any) -> list[BatchResult]:
        """Shortcut: one request per conversation (a list of Message or message dicts),
        with the same ``params`` (``temperature=...``) for all."""
        requests = []
        for conv in conversations:
            builder = self.client.chat().messages(conv)
            for name, value in params.items():
                getattr(builder, name)(value)
            requests.append(builder.build())
        return await self.run(requests)


class _RichBar:
    """A rich progress bar on stderr (rich is optional; only used when importable)."""

    def __init__(self, total: int) -> None:
        console: Any = importlib.import_module("rich.console")
        progress: Any = importlib.import_module("rich.progress")
        self._progress = progress.Progress(console=console.Console(stderr=True))
        self._progress.start()
        self._task = self._progress.add_task("batch", total=total)

    def update(self, progress: BatchProgress) -> None:
        self._progress.update(self._task, completed=progress.done,
                              description=f"batch ({progress.failed} failed)")

    def close(self) -> None:
        self._progress.stop()
