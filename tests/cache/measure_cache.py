"""Measure what a cache hit costs next to a loopback call (not a test).

Run: ``PYTHONPATH=. .venv/bin/python tests/cache/measure_cache.py`` (needs
redis-server). Every call goes through AiClient; the provider is the emulator on
127.0.0.1 (no added latency), so the "loopback" numbers are the floor of a real call:
HTTP, encoding and decoding only.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from ai_lib_python import AiClient
from ai_lib_python.cache import DiskCache, MemoryCache, RedisCache, ResponseCache
from ai_lib_python.testing import ProviderEmulator, Reply
from tests.resilience._helpers import start_redis

KEY = "sk-measure"
REPLY = Reply(text="The answer is four, as arithmetic has always said. " * 4, chunk_size=12,
              usage=(25, 60))


async def timed(n: int, call: Callable[[], Awaitable[object]]) -> float:
    """Median of 5 rounds of the mean time per call, in microseconds."""
    for _ in range(min(n, 50)):  # warm up
        await call()
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            await call()
        rounds.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(rounds)


async def main() -> None:
    async with ProviderEmulator(require_key=KEY) as emu:
        emu.set_default(REPLY)

        async def client(*layers: ResponseCache) -> AiClient:
            return await AiClient.create("openai/gpt-4o", base_url=emu.url_for("openai"),
                                         api_key=KEY, layers=list(layers))

        async def stream_all(c: AiClient) -> None:
            async with c.chat().user("2+2?").stream() as s:
                async for _ in s:
                    pass

        with tempfile.TemporaryDirectory() as tmp:
            plain = await client()
            memory = await client(ResponseCache(MemoryCache()))
            disk = await client(ResponseCache(DiskCache(Path(tmp) / "c.db"), close_backend=True))
            rows = [
                ("loopback call (execute)", await timed(200, lambda: plain.chat().user(
                    "2+2?").execute())),
                ("memory cache hit (execute)", await timed(2000, lambda: memory.chat().user(
                    "2+2?").execute())),
                ("disk cache hit (execute)", await timed(1000, lambda: disk.chat().user(
                    "2+2?").execute())),
                ("loopback call (stream)", await timed(200, lambda: stream_all(plain))),
                ("memory cache hit (stream)", await timed(2000, lambda: stream_all(memory))),
                ("disk cache hit (stream)", await timed(1000, lambda: stream_all(disk))),
            ]
            redis_server = start_redis()
            try:
                redis = await client(ResponseCache(RedisCache(redis_server.url),
                                                   close_backend=True))
                rows.insert(3, ("redis cache hit (execute)", await timed(1000, lambda: redis.chat(
                    ).user("2+2?").execute())))
                rows.append(("redis cache hit (stream)", await timed(1000,
                                                                     lambda: stream_all(redis))))
                await redis.close()
            finally:
                redis_server.kill()
            for c in (plain, memory, disk):
                await c.close()
    for name, us in rows:
        print(f"{name:28s} {us:9.1f} us/call")


if __name__ == "__main__":
    asyncio.run(main())
