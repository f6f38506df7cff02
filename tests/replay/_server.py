"""A loopback HTTP/1.1 server that plays back one recorded response byte for byte.

It speaks just enough HTTP/1.1 for one request per connection: it reads the
request (Content-Length or chunked body), records it, answers with the recorded
status and headers, and sends the recorded body. A stream goes out with
``Transfer-Encoding: chunked`` in chunks of varied sizes, cut so that chunk
boundaries fall inside lines and inside multi-byte UTF-8 characters.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

MAX_CHUNK = 97


@dataclass(frozen=True, slots=True)
class Reply:
    """What the server answers: status, headers, body bytes, and whether to stream it."""

    status: int
    headers: dict[str, str]
    body: bytes
    chunked: bool
    seed: str = ""


@dataclass(slots=True)
class ReceivedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw_body: bytes
    body: Any = None


def chunk_plan(data: bytes, seed: str) -> list[int]:
    """Chunk sizes between 1 and MAX_CHUNK, reproducible per seed.

    Where the data holds multi-byte UTF-8 characters, the first one and then every
    few others are cut in the middle, so a decoder that decodes chunk by chunk fails.
    """
    rng = random.Random(seed)
    cuts: set[int] = set()
    pos = 0
    while pos < len(data):
        pos += rng.randint(1, MAX_CHUNK)
        if pos < len(data):
            cuts.add(pos)
    # Force a cut inside multi-byte characters (lead byte >= 0xC0 starts one).
    lead_positions = [i for i, b in enumerate(data) if b >= 0xC0]
    for n, i in enumerate(lead_positions):
        if n % 3 == 0 and i + 1 < len(data):
            cuts.add(i + 1)
    sizes: list[int] = []
    last = 0
    for cut in sorted(cuts):
        # Keep every chunk within 1..MAX_CHUNK: forced cuts only ever shorten chunks.
        sizes.append(cut - last)
        last = cut
    if last < len(data):
        sizes.append(len(data) - last)
    return sizes


class ReplayServer:
    """Serves ``reply`` to every request and keeps the requests it received."""

    def __init__(self) -> None:
        self.reply: Reply | None = None
        self.requests: list[ReceivedRequest] = []
        self.served_chunks: list[int] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            request = await _read_request(reader)
            if request is None:
                return
            self.requests.append(request)
            reply = self.reply
            if reply is None:
                await _write_plain(writer, 500, b"no reply configured")
                return
            await self._write_reply(writer, reply)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass
            if task is not None:
                self._tasks.discard(task)

    async def _write_reply(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        reason = _reason(reply.status)
        head = [f"HTTP/1.1 {reply.status} {reason}"]
        for name, value in reply.headers.items():
            head.append(f"{name}: {value}")
        if reply.chunked:
            head.append("transfer-encoding: chunked")
        else:
            head.append(f"content-length: {len(reply.body)}")
        head.append("connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if not reply.chunked:
            writer.write(reply.body)
            await writer.drain()
            return
        await writer.drain()
        pos = 0
        for size in chunk_plan(reply.body, reply.seed):
            piece = reply.body[pos:pos + size]
            pos += size
            self.served_chunks.append(size)
            writer.write(f"{size:x}\r\n".encode("ascii") + piece + b"\r\n")
            await writer.drain()
            await asyncio.sleep(0)
        writer.write(b"0\r\n\r\n")
        await writer.drain()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


async def _write_plain(writer: asyncio.StreamWriter, status: int, body: bytes) -> None:
    writer.write(
        f"HTTP/1.1 {status} {_reason(status)}\r\ncontent-type: text/plain\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode("latin-1") + body
    )
    await writer.drain()


async def _read_request(reader: asyncio.StreamReader) -> ReceivedRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts: list[bytes] = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        raw = b"".join(parts)
    else:
        raw = await reader.readexactly(int(headers.get("content-length", "0")))
    url = urlsplit(target)
    query = dict(parse_qsl(url.query, keep_blank_values=True))
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return ReceivedRequest(method, unquote(url.path), query, headers, raw, body)
