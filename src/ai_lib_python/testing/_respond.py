"""Writing responses: faults applied to pre-encoded frames, batched socket writes.

A streamed reply is planned as a list of actions (frames, sleeps, an abort, a cut
frame) before the first byte goes out; the writer then batches consecutive frames into
large chunks of the chunked body, so a long stream costs a few system calls, while a
delay (``chunk_delay``, a stall) always flushes what is pending before it sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from ai_lib_python.testing._script import Fault, ResponseLog
from ai_lib_python.testing._server import LAST_CHUNK, Connection, PeerGone, chunk, head
from ai_lib_python.testing._wire import ErrorSpec, StreamBody, jstr

__all__ = ["Abort", "Action", "Cut", "Sleep", "plan_stream", "write_body", "write_stream"]

BATCH_BYTES = 64 * 1024
INVALID_UTF8 = b"\xff\xfe"


@dataclass(frozen=True)
class Sleep:
    """Flush, then go silent for ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class Abort:
    """Flush, then reset the connection."""


@dataclass(frozen=True)
class Cut:
    """Write this partial frame, then end the body without the stream's tail."""

    data: bytes


Action = bytes | Sleep | Abort | Cut


def _malformed(body: StreamBody, k: int) -> bytes:
    source = body.items[k] if k < len(body.items) else body.text_item(jstr("malformed"))
    start = 0 if body.array else source.rfind(b"data: ") + 6
    start = max(start, 0)
    end = len(source.rstrip(b"\r\n"))
    cut = start + max(1, (end - start) // 2)
    return source[:cut] + source[end:]


def plan_stream(body: StreamBody, fault: Fault | None, error: ErrorSpec | None) -> list[Action]:
    """The frames of ``body`` with ``fault`` applied."""
    items = body.items
    if fault is None or fault.after_chunks is None or fault.kind == "first_byte_delay":
        return list(items)
    if fault.kind in ("stream_error", "truncated"):
        k = min(fault.after_chunks, max(0, len(items) - body.terminal_items))
    else:
        k = min(fault.after_chunks, len(items))
    head_items: list[Action] = list(items[:k])
    if fault.kind == "stall":
        return [*head_items, Sleep(fault.seconds), *items[k:]]
    if fault.kind == "disconnect":
        return [*head_items, Abort()]
    if fault.kind == "stream_error":
        assert error is not None
        return [*head_items, body.error_item(error)]
    if fault.kind == "malformed":
        return [*head_items, _malformed(body, k), *items[k:]]
    if fault.kind == "invalid_utf8":
        return [*head_items, body.text_item(b'"' + INVALID_UTF8 + b'"'), *items[k:]]
    if fault.kind == "truncated":
        source = items[k] if k < len(items) else b""
        return [*head_items, Cut(source[: len(source) // 2])]
    return list(items)


class _Writer:
    """Batches frames into chunks of a chunked body and records write times."""

    def __init__(
        self, conn: Connection, log: ResponseLog, preamble: bytes, chunk_per_frame: bool
    ) -> None:
        self.conn = conn
        self.log = log
        self.preamble = preamble
        self.chunk_per_frame = chunk_per_frame
        self.pending: list[bytes] = []
        self.pending_frames = 0
        self.size = 0

    def add(self, frame: bytes, counted: bool = True) -> None:
        if self.chunk_per_frame and frame:
            frame = chunk(frame)
        self.pending.append(frame)
        self.size += len(frame)
        if counted:
            self.pending_frames += 1

    async def flush(self, end: bool = False) -> None:
        if self.conn.peer_gone:
            raise PeerGone("client went away")
        data = b"".join(self.pending)
        if data and not self.chunk_per_frame:
            data = chunk(data)
        out = self.preamble + data + (LAST_CHUNK if end else b"")
        if not out:
            return
        self.conn.write(out)
        now = time.monotonic()
        if self.log.first_byte_at is None:
            self.log.first_byte_at = now
        if self.pending_frames:
            self.log.writes.append((self.pending_frames, now))
        self.preamble = b""
        self.pending.clear()
        self.pending_frames = 0
        self.size = 0
        await self.conn.drain()


async def write_stream(
    conn: Connection,
    log: ResponseLog,
    status: int,
    headers: list[tuple[str, str]],
    actions: Sequence[Action],
    *,
    array: bool = False,
    chunk_delay: float = 0.0,
    chunk_per_frame: bool = False,
) -> None:
    """Write a chunked response carrying ``actions``.

    With ``array`` the frames are elements of one JSON array: the writer adds the
    opening bracket, the separators and the closing bracket. Consecutive frames share
    one HTTP chunk unless ``chunk_per_frame``; either way they share one socket write.
    """
    log.status = status
    log.streamed = True
    preamble = head(status, [*headers, ("transfer-encoding", "chunked")])
    writer = _Writer(conn, log, preamble, chunk_per_frame)
    written = 0
    for action in actions:
        if isinstance(action, bytes):
            if chunk_delay > 0 and written:
                await writer.flush()
                await conn.sleep(chunk_delay)
            if array:
                action = (b"[" if written == 0 else b",\r\n") + action
            writer.add(action)
            written += 1
            if writer.size >= BATCH_BYTES:
                await writer.flush()
        elif isinstance(action, Sleep):
            await writer.flush()
            await conn.sleep(action.seconds)
        elif isinstance(action, Abort):
            await writer.flush()
            conn.abort()
            log.outcome = "server_disconnected"
            log.finished_at = time.monotonic()
            return
        else:
            if action.data:
                prefix = (b"[" if written == 0 else b",\r\n") if array else b""
                writer.add(prefix + action.data)
            await writer.flush(end=True)
            log.outcome = "truncated"
            log.finished_at = time.monotonic()
            return
    if array:
        writer.add(b"]" if written else b"[]", counted=False)
    await writer.flush(end=True)
    log.outcome = "complete"
    log.finished_at = time.monotonic()


async def write_body(
    conn: Connection,
    log: ResponseLog,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    fault: Fault | None = None,
) -> None:
    """Write a response with a ``Content-Length`` body, applying a transport fault."""
    log.status = status
    kind = fault.kind if fault is not None else None
    if kind == "malformed":
        body = body[: len(body) // 2]
    preamble = head(status, [*headers, ("content-length", str(len(body)))])
    if conn.peer_gone:
        raise PeerGone("client went away")
    if kind in ("disconnect", "truncated"):
        conn.write(preamble + body[: len(body) // 2])
        log.first_byte_at = time.monotonic()
        await conn.drain()
        if kind == "disconnect":
            conn.abort()
            log.outcome = "server_disconnected"
        else:
            conn.close()
            log.outcome = "truncated"
        log.finished_at = time.monotonic()
        return
    if kind == "stall" and fault is not None:
        conn.write(preamble)
        log.first_byte_at = time.monotonic()
        await conn.drain()
        await conn.sleep(fault.seconds)
        conn.write(body)
    else:
        conn.write(preamble + body)
        log.first_byte_at = time.monotonic()
    await conn.drain()
    log.outcome = "complete"
    log.finished_at = time.monotonic()
