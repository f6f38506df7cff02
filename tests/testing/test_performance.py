"""The emulator must not be the bottleneck of a benchmark (generous bounds, real sockets)."""

from __future__ import annotations

import asyncio
import time

import httpx

from ai_lib_python.testing import ProviderEmulator, Reply

_BODY = b'{"messages": [], "stream": true}'
STREAM_REQUEST = (
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: emu\r\nConnection: close\r\n"
    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%b" % (len(_BODY), _BODY)
)


async def test_twenty_thousand_chunk_stream(emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(text="x" * 20_000, chunk_size=1))
    started = time.perf_counter()
    deltas = 0
    body = {"messages": [], "stream": True}
    async with (
        httpx.AsyncClient(base_url=emu.url_for("openai"), timeout=30) as client,
        client.stream("POST", "/chat/completions", json=body) as r,
    ):
        async for line in r.aiter_lines():
            deltas += line.startswith('data: {"id"') and '"content":"x"' in line
    elapsed = time.perf_counter() - started
    log = emu.last_request.response
    assert deltas == 20_000
    assert log.frames_written == 20_003  # role, 20,000 deltas, finish, [DONE]
    assert len(log.writes) < 200  # frames are batched into large writes
    assert elapsed < 10.0  # typically well under half a second


async def test_256_concurrent_streams(emu: ProviderEmulator) -> None:
    emu.set_default(Reply(text="y" * 200, chunk_size=1))

    async def one() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
        writer.write(STREAM_REQUEST)
        await writer.drain()
        data = await reader.read()
        writer.close()
        await writer.wait_closed()
        return data

    started = time.perf_counter()
    bodies = await asyncio.gather(*(one() for _ in range(256)))
    elapsed = time.perf_counter() - started
    assert all(
        body.count(b'"content":"y"') == 200 and body.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n")
        for body in bodies
    )
    assert len(emu.requests) == 256
    assert elapsed < 15.0  # typically a fraction of a second
