"""The response cache, end to end through AiClient against the emulator."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ai_lib_python import (
    AiClient,
    CancelToken,
    ChatResponse,
    FinalCandidate,
    Message,
    Metadata,
    PartialContentDelta,
    ProviderError,
    StreamEnd,
    ToolCallEnded,
    ToolCallStarted,
    ToolDefinition,
    TransportError,
)
from ai_lib_python.cache import DiskCache, MemoryCache, RedisCache, ResponseCache, request_key
from ai_lib_python.errors import CancelledError
from ai_lib_python.testing import Fault, ProviderEmulator, Reply, ToolCallReply
from ai_lib_python.types import ChatRequest
from tests.resilience._helpers import RedisServer

from .conftest import KEY

WEATHER = ToolDefinition("get_weather", "Weather for a city",
                         {"type": "object", "properties": {"city": {"type": "string"}}})
TOOL_REPLY = Reply(text="Let me check the weather.", chunk_size=5, usage=(20, 12),
                   tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}),
                               ToolCallReply("get_weather", {"city": "Rome"})])


async def make(emu: ProviderEmulator, cache: ResponseCache, fmt: str = "openai",
               key: str = KEY) -> AiClient:
    model = {"openai": "openai/gpt-4o", "anthropic": "anthropic/claude-sonnet-4-5",
             "gemini": "gemini/gemini-2.5-flash"}[fmt]
    return await AiClient.create(model, base_url=emu.url_for(fmt), api_key=key, layers=[cache])


async def collect(client: AiClient, text: str = "weather?") -> tuple[list[Any], ChatResponse]:
    async with client.chat().user(text).tool(WEATHER).stream() as stream:
        events = [e async for e in stream]
    return events, stream.response


# -- the key -------------------------------------------------------------------------
def test_key_covers_what_changes_the_answer_and_nothing_else() -> None:
    base = ChatRequest(model="gpt-4o", messages=(Message.user("hi"),), temperature=0.2)
    key = request_key(base, "openai")
    assert key == request_key(base.with_(stream=True, headers={"x-trace": "1"}, timeout=3.0,
                                         metadata={"note": "x"}), "openai")
    for changed in (base.with_(temperature=0.3), base.with_(model="gpt-4o-mini"),
                    base.with_(messages=(Message.user("hello"),)),
                    base.with_(tools=(WEATHER,)), base.with_(extra_body={"x": 1})):
        assert request_key(changed, "openai") != key
    assert request_key(base, "azure") != key
    assert len(key) == 64


# -- hits and misses ---------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["openai", "anthropic", "gemini"])
async def test_a_hit_makes_no_request(emu: ProviderEmulator, fmt: str) -> None:
    cache = ResponseCache()
    emu.enqueue(TOOL_REPLY)
    async with await make(emu, cache, fmt) as client:
        first = await client.chat().user("weather?").tool(WEATHER).execute()
        second = await client.chat().user("weather?").tool(WEATHER).execute()
        other = await client.chat().user("something else").execute()
    assert len(emu.requests) == 2  # the first call and "something else"
    assert first.stats.extra["cache"] == "miss" and second.stats.extra["cache"] == "hit"
    assert second.content == first.content and second.tool_calls == first.tool_calls
    assert second.usage == first.usage and second.finish_reason == first.finish_reason
    assert second.stats.extra["cache_bytes"] > 0 and other.stats.extra["cache"] == "miss"
    counts = cache.counters.snapshot()
    assert counts["hits"] == 1 and counts["misses"] == 2 and counts["stores"] == 2
    assert counts["bytes_read"] == second.stats.extra["cache_bytes"]
    assert counts["bytes_written"] >= counts["bytes_read"]


async def test_the_api_key_is_not_part_of_the_key() -> None:
    cache = ResponseCache()
    async with ProviderEmulator() as emu:
        async with await make(emu, cache, key="sk-one") as a:
            await a.chat().user("hi").execute()
        async with await make(emu, cache, key="sk-two") as b:
            hit = await b.chat().user("hi").execute()
    assert hit.stats.extra["cache"] == "hit" and len(emu.requests) == 1


@pytest.mark.parametrize("fmt", ["openai", "anthropic", "gemini"])
async def test_a_stream_replayed_from_cache_is_the_live_stream(emu: ProviderEmulator,
                                                               fmt: str) -> None:
    cache = ResponseCache()
    emu.enqueue(TOOL_REPLY)
    async with await make(emu, cache, fmt) as client:
        live, live_resp = await collect(client)
        replay, replay_resp = await collect(client)
        plain = await client.chat().user("weather?").tool(WEATHER).execute()
    assert len(emu.requests) == 1
    assert replay == live
    assert replay_resp.content == live_resp.content == "Let me check the weather."
    assert replay_resp.tool_calls == live_resp.tool_calls and len(live_resp.tool_calls) == 2
    assert plain.tool_calls == live_resp.tool_calls and plain.stats.extra["cache"] == "hit"
    kinds = {type(e) for e in live}
    assert {PartialContentDelta, ToolCallStarted, ToolCallEnded, FinalCandidate,
            StreamEnd} <= kinds


def _kinds(events: list[Any]) -> list[str]:
    out: list[str] = []
    for e in events:
        name = type(e).__name__
        if name in ("PartialContentDelta", "PartialToolCall") and out and out[-1] == name:
            continue  # a run of deltas is one step
        out.append(name)
    return out


async def test_a_plain_call_replays_as_a_stream_of_the_same_kinds(emu: ProviderEmulator) -> None:
    """Filled by a plain call, the replay uses the canonical order of a live OpenAI
    stream (text, then each tool call started/arguments/ended, final, usage, end)."""
    cache = ResponseCache()
    one_call = Reply(text="Let me check the weather.", chunk_size=5, usage=(20, 12),
                     tool_calls=[ToolCallReply("get_weather", {"city": "Paris"})])
    emu.enqueue(one_call, one_call)
    async with await make(emu, cache) as client:
        await client.chat().user("weather?").tool(WEATHER).execute()
        replay, replay_resp = await collect(client)
        live, _ = await collect(client, "weather? ")  # another key: a live stream
    assert len(emu.requests) == 2
    assert _kinds(replay) == _kinds(live)
    assert isinstance(replay[-1], StreamEnd) and any(isinstance(e, Metadata) for e in replay)
    assert replay_resp.content == "Let me check the weather."
    assert replay_resp.stats.extra["cache"] == "hit" and replay_resp.stats.streamed


# -- what is never stored ------------------------------------------------------------
async def test_errors_are_not_cached(emu: ProviderEmulator) -> None:
    cache = ResponseCache()
    emu.enqueue(Fault.status(400))
    async with await make(emu, cache) as client:
        with pytest.raises(ProviderError):
            await client.chat().user("hi").execute()
        ok = await client.chat().user("hi").execute()
    assert ok.stats.extra["cache"] == "miss" and len(emu.requests) == 2


@pytest.mark.parametrize("how", ["break", "stream_error", "cancel", "disconnect"])
async def test_partial_streams_are_not_cached(emu: ProviderEmulator, how: str) -> None:
    cache = ResponseCache()
    reply = Reply(text="a long answer in many pieces", chunk_size=2, chunk_delay=0.005)
    if how == "stream_error":
        emu.enqueue(Fault.stream_error(3, "overloaded", reply=reply))
    elif how == "disconnect":
        emu.enqueue(Fault.disconnect(after_chunks=3, reply=reply))
    else:
        emu.enqueue(reply)
    token = CancelToken()
    async with await make(emu, cache) as client:
        expected = {"stream_error": ProviderError, "cancel": CancelledError,
                    "disconnect": TransportError}.get(how)
        with pytest.raises(expected) if expected else _nothing():
            async with client.chat().user("story").cancel_token(token).stream() as stream:
                async for event in stream:
                    if isinstance(event, PartialContentDelta) and how == "break":
                        break
                    if how == "cancel" and not token.cancelled:
                        asyncio.get_running_loop().call_later(0.01, token.cancel)
        assert cache.counters.stores == 0
        again = await client.chat().user("story").execute()
    assert again.stats.extra["cache"] == "miss" and len(emu.requests) == 2


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


async def test_bypass_and_a_broken_backend_never_fail_a_call(emu: ProviderEmulator) -> None:
    class Broken(MemoryCache):
        async def get(self, key: str) -> bytes | None:
            raise OSError("disk gone")

        async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
            raise OSError("disk gone")

    cache = ResponseCache(Broken())
    async with await make(emu, cache) as client:
        resp = await client.chat().user("hi").execute()
        req = client.chat().user("hi").build().with_(metadata={"cache": False})
        await client.execute(req)
    assert resp.content == "Echo: hi" and cache.counters.errors == 2
    assert cache.counters.bypassed == 1


async def test_builder_with_cache(emu: ProviderEmulator) -> None:
    client = await (AiClient.builder().model("openai/gpt-4o").base_url(emu.url_for("openai"))
                    .api_key(KEY).with_cache(MemoryCache(), ttl=60).build())
    async with client:
        await client.chat().user("hi").execute()
        hit = await client.chat().user("hi").execute()
    assert hit.stats.extra["cache"] == "hit" and len(emu.requests) == 1


# -- backends ------------------------------------------------------------------------
async def test_memory_cache_is_an_lru_with_ttl() -> None:
    now = [0.0]
    mem = MemoryCache(max_entries=2, clock=lambda: now[0])
    await mem.set("a", b"1", ttl=10)
    await mem.set("b", b"22")
    assert await mem.get("a") == b"1"  # a is now the most recent
    await mem.set("c", b"333")
    assert await mem.get("b") is None and len(mem) == 2 and mem.size_bytes == 4
    now[0] = 10.0
    assert await mem.get("a") is None and await mem.get("c") == b"333"
    small = MemoryCache(max_bytes=5)
    await small.set("x", b"123")
    await small.set("y", b"456")
    assert await small.get("x") is None and await small.get("y") == b"456"


async def test_disk_cache_survives_a_restart_and_expires(tmp_path: Path,
                                                         emu: ProviderEmulator) -> None:
    path = tmp_path / "c" / "responses.db"
    now = [1000.0]
    async with await make(emu, ResponseCache(DiskCache(path), close_backend=True)) as client:
        await client.chat().user("hi").execute()
    async with await make(emu, ResponseCache(DiskCache(path), close_backend=True)) as client:
        hit = await client.chat().user("hi").execute()
    assert hit.stats.extra["cache"] == "hit" and len(emu.requests) == 1
    disk = DiskCache(path, max_entries=2, clock=lambda: now[0])
    await disk.set("k", b"v", ttl=5)
    now[0] += 5
    assert await disk.get("k") is None
    for k in ("x", "y", "z"):
        await disk.set(k, b"1")
    assert await disk.count() == 2
    await disk.aclose()


_WRITER = """
import asyncio, sys
from ai_lib_python.cache import DiskCache
async def main():
    disk = DiskCache(sys.argv[1])
    for i in range(40):
        await disk.set(f"{sys.argv[2]}-{i}", (sys.argv[2] * 50).encode())
        assert await disk.get(f"{sys.argv[2]}-{i}") is not None
    await disk.aclose()
asyncio.run(main())
"""


def _run_writers(path: Path) -> list[int]:
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name])
             for name in ("p1", "p2", "p3")]
    return [p.wait(60) for p in procs]


async def test_disk_cache_is_shared_safely_by_several_processes(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    codes = await asyncio.to_thread(_run_writers, path)
    assert codes == [0, 0, 0]
    disk = DiskCache(path)
    assert await disk.count() == 120
    assert await disk.get("p2-39") == b"p2" * 50
    await disk.aclose()


async def test_redis_cache_against_a_real_server(redis_server: RedisServer,
                                                 emu: ProviderEmulator) -> None:
    a = RedisCache(redis_server.url, prefix="t:")
    b = RedisCache(redis_server.url, prefix="t:")  # another "host"
    async with (await make(emu, ResponseCache(a, close_backend=True)) as client,
                client.chat().user("hi").stream() as stream):
        live = [e async for e in stream]
    async with (await make(emu, ResponseCache(b, close_backend=True)) as client,
                client.chat().user("hi").stream() as stream):
        replay = [e async for e in stream]
    assert replay == live and len(emu.requests) == 1
    c = RedisCache(redis_server.url, prefix="t:")
    await c.set("short", b"x", ttl=0.05)
    assert await c.get("short") == b"x"
    await asyncio.sleep(0.1)
    assert await c.get("short") is None
    await c.clear()
    await c.aclose()
