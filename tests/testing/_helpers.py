"""Small parsers the emulator tests use to read raw bodies."""

from __future__ import annotations

import asyncio
import json
from typing import Any


def sse_events(text: str, sep: str = "\n\n") -> list[tuple[str | None, str]]:
    """Split an SSE body into (event name, data) pairs; comment-only blocks are skipped."""
    events: list[tuple[str | None, str]] = []
    for block in text.split(sep):
        if not block.strip():
            continue
        name = None
        data: list[str] = []
        for line in block.replace("\r\n", "\n").split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if name is None and not data:
            continue
        events.append((name, "\n".join(data)))
    return events


def sse_json(text: str, sep: str = "\n\n") -> list[Any]:
    """The JSON payloads of an SSE body, skipping a ``[DONE]`` sentinel."""
    return [json.loads(data) for _, data in sse_events(text, sep) if data and data != "[DONE]"]


async def raw_http(port: int, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send raw bytes to 127.0.0.1:port and read until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
        await writer.wait_closed()


def split_responses(raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Split concatenated Content-Length responses into (status, headers, body)."""
    out: list[tuple[int, dict[str, str], bytes]] = []
    rest = raw
    while rest:
        head, _, rest = rest.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status == 100:
            continue
        length = int(headers.get("content-length", "0"))
        out.append((status, headers, rest[:length]))
        rest = rest[length:]
    return out
