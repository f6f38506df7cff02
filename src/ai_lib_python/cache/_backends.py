"""Where cached responses live: in memory, on disk (sqlite), or in Redis.

Every backend stores opaque bytes under a key with an optional time to live and
implements the same small async interface, :class:`CacheBackend`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

Clock = Callable[[], float]


@runtime_checkable
class CacheBackend(Protocol):
    """Bytes by key, each with an optional time to live in seconds."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def clear(self) -> None: ...

    async def aclose(self) -> None: ...


class MemoryCache:
    """An in-process LRU with per-entry expiry.

    Args:
        max_entries: Least recently used entries go beyond this count.
        max_bytes: ... and beyond this total size of values.
        clock: Monotonic seconds (injected in tests).
    """

    def __init__(self, *, max_entries: int = 1024, max_bytes: int | None = None,
                 clock: Clock = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._data: OrderedDict[str, tuple[float | None, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    async def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, value = item
            if expires is not None and self._clock() >= expires:
                self._drop(key)
                return None
            self._data.move_to_end(key)
            return value

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        with self._lock:
            if key in self._data:
                self._drop(key)
            expires = self._clock() + ttl if ttl is not None else None
            self._data[key] = (expires, value)
            self._bytes += len(value)
            while len(self._data) > self.max_entries or (
                self.max_bytes is not None and self._bytes > self.max_bytes
                and len(self._data) > 1
            ):
                self._drop(next(iter(self._data)))

    def _drop(self, key: str) -> None:
        _, value = self._data.pop(key)
        self._bytes -= len(value)

    async def delete(self, key: str) -> None:
        with self._lock:
            if key in self._data:
                self._drop(key)

    async def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0

    async def aclose(self) -> None:
        return None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS cache_entries (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    expires REAL,
    accessed REAL NOT NULL
)
"""


class DiskCache:
    """A cache in one sqlite file: survives restarts, shared safely by several processes.

    sqlite's own locking (WAL journal, a busy timeout) serializes writers across
    processes; calls run in a worker thread so the event loop never blocks on disk.

    Args:
        path: The database file (created with its folder).
        max_entries: Least recently read entries go beyond this count (None: no limit).
        clock: Wall-clock seconds (expiry must mean the same in every process).
        busy_timeout: Seconds to wait for another process's write lock.
    """

    def __init__(self, path: str | Path, *, max_entries: int | None = None,
                 clock: Clock = time.time, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.max_entries = max_entries
        self._clock = clock
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout,
                                   check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn

    def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        with self._lock:
            return fn(self._db())

    def _get(self, db: sqlite3.Connection, key: str) -> bytes | None:
        row = db.execute("SELECT value, expires FROM cache_entries WHERE key = ?",
                         (key,)).fetchone()
        if row is None:
            return None
        now = self._clock()
        if row[1] is not None and now >= row[1]:
            db.execute("DELETE FROM cache_entries WHERE key = ? AND expires <= ?", (key, now))
            return None
        db.execute("UPDATE cache_entries SET accessed = ? WHERE key = ?", (now, key))
        return bytes(row[0])

    def _set(self, db: sqlite3.Connection, key: str, value: bytes, ttl: float | None) -> None:
        now = self._clock()
        expires = now + ttl if ttl is not None else None
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("INSERT OR REPLACE INTO cache_entries (key, value, expires, accessed) "
                       "VALUES (?, ?, ?, ?)", (key, value, expires, now))
            db.execute("DELETE FROM cache_entries WHERE expires IS NOT NULL AND expires <= ?",
                       (now,))
            if self.max_entries is not None:
                db.execute("DELETE FROM cache_entries WHERE key IN (SELECT key FROM "
                           "cache_entries ORDER BY accessed DESC LIMIT -1 OFFSET ?)",
                           (self.max_entries,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def get(self, key: str) -> bytes | None:
        result: bytes | None = await asyncio.to_thread(self._run, lambda db: self._get(db, key))
        return result

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await asyncio.to_thread(self._run, lambda db: self._set(db, key, value, ttl))

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(
            self._run, lambda db: db.execute("DELETE FROM cache_entries WHERE key = ?", (key,)))

    async def clear(self) -> None:
        await asyncio.to_thread(self._run, lambda db: db.execute("DELETE FROM cache_entries"))

    async def count(self) -> int:
        """Entries stored (expired ones included until they are swept)."""
        row = await asyncio.to_thread(
            self._run, lambda db: db.execute("SELECT COUNT(*) FROM cache_entries").fetchone())
        return int(row[0])

    async def aclose(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class RedisCache:
    """A cache in Redis, shared by every host that reaches it (redis-py asyncio).

    Args:
        url: ``redis://host:port/db``; the client is created on first use and closed
            by :meth:`aclose`.
        client: An existing ``redis.asyncio.Redis`` (left open by :meth:`aclose`).
        prefix: Put before every key, so several caches can share one database.
    """

    def __init__(self, url: str | None = None, *, client: Any = None,
                 prefix: str = "ai-lib:cache:") -> None:
        if (url is None) == (client is None):
            raise ValueError("RedisCache needs exactly one of url= or client=")
        self._url = url
        self._client = client
        self._owns = client is None
        self.prefix = prefix

    def _redis(self) -> Any:
        if self._client is None:
            try:
                import redis.asyncio as aioredis
            except ImportError as exc:  # pragma: no cover - depends on the environment
                from ai_lib_python.errors import ConfigurationError

                raise ConfigurationError(
                    "RedisCache needs the redis package",
                    hint="pip install 'ai-lib-python[redis]'") from exc
            assert self._url is not None
            self._client = aioredis.Redis.from_url(self._url)
        return self._client

    async def get(self, key: str) -> bytes | None:
        value = await self._redis().get(self.prefix + key)
        return bytes(value) if value is not None else None

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        px = max(1, int(ttl * 1000)) if ttl is not None else None
        await self._redis().set(self.prefix + key, value, px=px)

    async def delete(self, key: str) -> None:
        await self._redis().delete(self.prefix + key)

    async def clear(self) -> None:
        """Delete every key under this cache's prefix."""
        client = self._redis()
        batch: list[Any] = []
        async for key in client.scan_iter(match=self.prefix + "*", count=500):
            batch.append(key)
            if len(batch) >= 500:
                await client.delete(*batch)
                batch = []
        if batch:
            await client.delete(*batch)

    async def aclose(self) -> None:
        client, owns = self._client, self._owns
        if client is not None and owns:
            self._client = None
            await client.aclose()
