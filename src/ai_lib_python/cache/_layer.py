"""ResponseCache: the opt-in cache layer of the execution path (stage 30).

A hit answers from the backend without calling anything inside the layer. A request
asked as a stream gets the cached answer as a stream: the exact events the live
stream carried when it was a stream that filled the cache, or the events a live
stream of that response carries when a plain call filled it. Only complete answers
are stored: an error, a stream that failed, was cancelled or was left early is not.
A failing backend never fails a call; it counts as a miss (``errors`` counter).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from ai_lib_python.cache._backends import CacheBackend, MemoryCache
from ai_lib_python.cache._codec import (
    decode_entry,
    encode_entry,
    events_from_response,
    request_key,
)
from ai_lib_python.client import CallContext, ChatHandler, EventBatch
from ai_lib_python.client._assemble import STAGE_CACHE
from ai_lib_python.client._context import stamp_first_token
from ai_lib_python.types import (
    ChatRequest,
    ChatResponse,
    StreamError,
    StreamEvent,
)

log = logging.getLogger("ai_lib_python.cache")

class CacheCounters:
    """Hits, misses and bytes of one ResponseCache, readable by telemetry at any time."""

    __slots__ = ("_lock", "bypassed", "bytes_read", "bytes_written", "errors", "hits",
                 "misses", "stores")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.stores = 0
        self.bypassed = 0
        self.errors = 0
        self.bytes_read = 0
        self.bytes_written = 0

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {name: getattr(self, name) for name in self.__slots__ if name != "_lock"}

    @property
    def hit_ratio(self) -> float:
        looked = self.hits + self.misses
        return self.hits / looked if looked else 0.0


class ResponseCache:
    """The response cache layer.

    Args:
        backend: Where entries live (default: a :class:`MemoryCache`).
        ttl: Seconds an entry lives (None: until the backend evicts it).
        max_entry_bytes: Larger answers are not stored.
        close_backend: Close the backend when the client closes (default: only a
            backend this cache created).
        key: Replace the key function ``(request, provider, model) -> str``.

    A request whose ``metadata`` has ``"cache": False`` skips the cache.
    """

    stage = STAGE_CACHE

    def __init__(self, backend: CacheBackend | None = None, *, ttl: float | None = 3600.0,
                 max_entry_bytes: int = 8 * 1024 * 1024, close_backend: bool | None = None,
                 key: Callable[[ChatRequest, str, str | None], str] | None = None) -> None:
        self.backend: CacheBackend = backend if backend is not None else MemoryCache()
        self.ttl = ttl
        self.max_entry_bytes = max_entry_bytes
        self._close_backend = backend is None if close_backend is None else close_backend
        self._key = key or request_key
        self.counters = CacheCounters()

    def key(self, request: ChatRequest, ctx: CallContext) -> str:
        return self._key(request, ctx.stats.provider, request.model or ctx.stats.model)

    def wrap(self, inner: ChatHandler) -> ChatHandler:
        return _CacheHandler(self, inner)

    # -- backend access that never raises -------------------------------------
    async def _load(self, key: str, ctx: CallContext) -> tuple[ChatResponse,
                                                                  list[StreamEvent] | None] | None:
        try:
            data = await self.backend.get(key)
        except Exception as exc:
            log.warning("cache read failed: %s", exc)
            self.counters.add(errors=1, misses=1)
            ctx.stats.extra["cache"] = "error"
            return None
        if data is None:
            self.counters.add(misses=1)
            ctx.stats.extra["cache"] = "miss"
            return None
        try:
            entry = decode_entry(data)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("dropping an unreadable cache entry: %s", exc)
            self.counters.add(errors=1, misses=1)
            ctx.stats.extra["cache"] = "miss"
            return None
        self.counters.add(hits=1, bytes_read=len(data))
        ctx.stats.extra["cache"] = "hit"
        ctx.stats.extra["cache_bytes"] = len(data)
        return entry

    async def _store(self, key: str, response: ChatResponse,
                     events: list[StreamEvent] | None, ctx: CallContext) -> None:
        try:
            data = encode_entry(response, events)
        except (TypeError, ValueError):
            data = encode_entry(_without_raw(response), events)
        if len(data) > self.max_entry_bytes:
            return
        try:
            await self.backend.set(key, data, self.ttl)
        except Exception as exc:
            log.warning("cache write failed: %s", exc)
            self.counters.add(errors=1)
            return
        self.counters.add(stores=1, bytes_written=len(data))
        ctx.stats.extra["cache_bytes"] = len(data)

    async def aclose(self) -> None:
        if self._close_backend:
            await self.backend.aclose()


def _without_raw(response: ChatResponse) -> ChatResponse:
    return ChatResponse(response.candidates, response.usage, response.model, response.id)


def _bypass(request: ChatRequest) -> bool:
    return request.metadata.get("cache") is False


class _CacheHandler:
    def __init__(self, cache: ResponseCache, inner: ChatHandler) -> None:
        self._cache = cache
        self._inner = inner

    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        cache = self._cache
        if _bypass(request):
            cache.counters.add(bypassed=1)
            return await self._inner.execute(request, ctx)
        key = cache.key(request, ctx)
        entry = await cache._load(key, ctx)
        if entry is not None:
            response = entry[0]
            response.stats = ctx.stats
            ctx.stats.attempts = 0
            return response
        response = await self._inner.execute(request, ctx)
        await cache._store(key, response, None, ctx)
        return response

    async def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[EventBatch]:
        cache = self._cache
        if _bypass(request):
            cache.counters.add(bypassed=1)
            async for batch in _forward(self._inner.stream(request, ctx)):
                yield batch
            return
        key = cache.key(request, ctx)
        entry = await cache._load(key, ctx)
        if entry is not None:
            replay = _replay(entry, ctx)
            if replay:
                yield replay
            return
        events: list[StreamEvent] = []
        failed = False
        async for batch in _forward(self._inner.stream(request, ctx)):
            for event in batch:
                if type(event) is StreamError:
                    failed = True
            events.extend(batch)  # before the caller may change the batch
            yield batch
        # Only reached when the stream ran to its end without raising.
        factory = ctx.response_factory
        if not failed and factory is not None:
            await cache._store(key, factory(), events, ctx)

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            await self._cache.aclose()


async def _forward(inner: AsyncIterator[EventBatch]) -> AsyncIterator[EventBatch]:
    """Yield from ``inner`` and always close it (down to the HTTP response)."""
    try:
        async for batch in inner:
            yield batch
    finally:
        close: Any = getattr(inner, "aclose", None)
        if close is not None:
            await close()


def _replay(entry: tuple[ChatResponse, list[StreamEvent] | None],
            ctx: CallContext) -> EventBatch:
    """A cached answer as one batch of events (a new list: the receiver owns it)."""
    response, events = entry
    response.stats = ctx.stats
    ctx.stats.streamed = True
    ctx.stats.attempts = 0
    ctx.response_factory = lambda: response
    batch = list(events) if events is not None else events_from_response(response)
    stamp_first_token(batch, ctx)
    return batch
