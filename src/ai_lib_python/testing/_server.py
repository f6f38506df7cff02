"""A small HTTP/1.1 server on asyncio, standard library only.

It implements what an HTTP client library exercises against an API server:

* request line, headers, ``Content-Length`` and ``Transfer-Encoding: chunked``
  request bodies, ``Expect: 100-continue``;
* persistent connections (HTTP/1.1 keep-alive, ``Connection: close``);
* responses with ``Content-Length`` or ``Transfer-Encoding: chunked``;
* write flow control, and prompt notice when the peer goes away, even while the
  handler is sleeping between frames.

The server knows nothing about LLM providers: it hands each parsed
:class:`HttpRequest` and its :class:`Connection` to a handler coroutine.
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import cast
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "Connection",
    "HttpError",
    "HttpRequest",
    "HttpServer",
    "PeerGone",
    "chunk",
    "head",
    "merge_headers",
]

log = logging.getLogger("ai_lib_python.testing")

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
_READ_HIGH_WATER = 4 * 1024 * 1024
LAST_CHUNK = b"0\r\n\r\n"

_EXTRA_REASONS = {529: "Overloaded"}


class HttpError(Exception):
    """A request the server cannot parse; answered with ``status`` and closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class PeerGone(ConnectionError):
    """The client closed or reset the connection."""


@dataclass
class HttpRequest:
    """One parsed request. Header names are lower-case; repeated headers are joined."""

    method: str
    target: str
    path: str
    query: dict[str, str]
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may serve another request after this one."""
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


def reason(status: int) -> str:
    """The reason phrase for ``status``."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return _EXTRA_REASONS.get(status, "Unknown")


_date_cache: tuple[int, str] = (0, "")


def http_date() -> str:
    """The current time as an HTTP-date, computed at most once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, email.utils.formatdate(now, usegmt=True))
    return _date_cache[1]


def head(status: int, headers: list[tuple[str, str]]) -> bytes:
    """Encode a status line and header block."""
    lines = [f"HTTP/1.1 {status} {reason(status)}", f"date: {http_date()}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def merge_headers(*groups: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Lower-case header pairs; a later group replaces same-named headers of earlier ones."""
    merged: dict[str, tuple[str, str]] = {}
    for group in groups:
        for name, value in group:
            merged[name.lower()] = (name.lower(), value)
    return list(merged.values())


def chunk(data: bytes) -> bytes:
    """Encode ``data`` as one chunk of a chunked body."""
    return b"%x\r\n%b\r\n" % (len(data), data)


def _parse_head(raw: bytes) -> tuple[str, str, str, dict[str, str]]:
    try:
        text = raw.decode("latin-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes anything
        raise HttpError(400, "undecodable request head") from exc
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            raise HttpError(400, "obsolete header line folding")
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(400, "malformed header line")
        key = name.lower()
        value = value.strip(" \t")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return method, target, version, headers


class Connection(asyncio.Protocol):
    """One client connection: buffered reading, flow-controlled writing."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._loop = server.loop
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._eof = False
        self._lost = False
        self._reading_paused = False
        self._read_waiter: asyncio.Future[None] | None = None
        self._writing_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._sleepers: set[asyncio.Future[None]] = set()
        self.busy = False
        self.closing = False
        self.task: asyncio.Task[None] | None = None

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._server.connections.add(self)
        self.task = self._loop.create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._wake_reader()
        if len(self._buffer) > _READ_HIGH_WATER and self._transport is not None:
            self._transport.pause_reading()
            self._reading_paused = True

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_all()
        return True  # keep the transport: a half-closed client may still read

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._lost = True
        self._server.connections.discard(self)
        self._wake_all()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- state ------------------------------------------------------------------------

    @property
    def peer_gone(self) -> bool:
        """True once the client closed its side or the connection was lost."""
        return self._eof

    def _wake_reader(self) -> None:
        waiter, self._read_waiter = self._read_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_all(self) -> None:
        self._wake_reader()
        self.resume_writing()
        for fut in list(self._sleepers):
            if not fut.done():
                fut.set_result(None)

    # -- reading ----------------------------------------------------------------------

    async def _wait_data(self) -> None:
        if self._eof:
            raise HttpError(400, "connection closed mid-request")
        if self._reading_paused and self._transport is not None:
            self._reading_paused = False
            self._transport.resume_reading()
        self._read_waiter = self._loop.create_future()
        await self._read_waiter

    async def _read_until(self, sep: bytes, limit: int) -> bytes | None:
        start = 0
        while True:
            idx = self._buffer.find(sep, start)
            if 0 <= idx <= limit:
                data = bytes(self._buffer[:idx])
                del self._buffer[: idx + len(sep)]
                return data
            if len(self._buffer) > limit:
                raise HttpError(431 if sep == b"\r\n\r\n" else 400, "request head too large")
            if self._eof:
                return None
            start = max(0, len(self._buffer) - len(sep) + 1)
            await self._wait_data()

    async def _read_exactly(self, n: int) -> bytes:
        while len(self._buffer) < n:
            await self._wait_data()
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    async def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = await self._read_until(b"\r\n", 4096)
            if line is None:
                raise HttpError(400, "connection closed in chunked body")
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError as exc:
                raise HttpError(400, "bad chunk size") from exc
            if size < 0:
                raise HttpError(400, "bad chunk size")
            if size == 0:
                while True:  # trailer section
                    trailer = await self._read_until(b"\r\n", MAX_HEAD)
                    if trailer is None:
                        raise HttpError(400, "connection closed in chunked trailer")
                    if not trailer:
                        return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise HttpError(413, "request body too large")
            parts.append(await self._read_exactly(size))
            if await self._read_exactly(2) != b"\r\n":
                raise HttpError(400, "chunk not followed by CRLF")

    async def read_request(self) -> HttpRequest | None:
        """Read the next request, or return ``None`` when the client closed cleanly."""
        while self._buffer[:2] == b"\r\n":
            del self._buffer[:2]
        raw = await self._read_until(b"\r\n\r\n", MAX_HEAD)
        if raw is None:
            if self._buffer.strip():
                raise HttpError(400, "incomplete request head")
            return None
        method, target, version, headers = _parse_head(raw)
        if headers.get("expect", "").lower() == "100-continue":
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "transfer-encoding" in headers:
            codings = [c.strip().lower() for c in headers["transfer-encoding"].split(",")]
            if codings[-1] != "chunked":
                raise HttpError(501, "unsupported transfer coding")
            body = await self._read_chunked()
        elif "content-length" in headers:
            text = headers["content-length"]
            if not text.isdigit():
                raise HttpError(400, "bad content-length")
            length = int(text)
            if length > MAX_BODY:
                raise HttpError(413, "request body too large")
            body = await self._read_exactly(length)
        else:
            body = b""
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        return HttpRequest(
            method=method.upper(),
            target=target,
            path=unquote(split.path) or "/",
            query=query,
            version=version,
            headers=headers,
            body=body,
        )

    # -- writing ----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Queue ``data`` on the socket; raises :class:`PeerGone` after the peer left."""
        if self._lost or self._transport is None:
            raise PeerGone("connection lost")
        self._transport.write(data)

    async def drain(self) -> None:
        """Wait until the write buffer is below the transport's high-water mark."""
        while self._writing_paused and not self._lost:
            self._drain_waiter = self._loop.create_future()
            await self._drain_waiter
        if self._lost:
            raise PeerGone("connection lost")

    async def sleep(self, seconds: float) -> None:
        """Sleep, but wake early (raising :class:`PeerGone`) if the client goes away."""
        if seconds > 0 and not self._eof:
            fut: asyncio.Future[None] = self._loop.create_future()
            self._sleepers.add(fut)
            handle = self._loop.call_later(seconds, _resolve, fut)
            try:
                await fut
            finally:
                handle.cancel()
                self._sleepers.discard(fut)
        if self._eof:
            raise PeerGone("client went away")

    def abort(self) -> None:
        """Reset the connection without flushing."""
        self.closing = True
        if self._transport is not None:
            self._transport.abort()

    def close(self) -> None:
        """Flush what was written, then close."""
        self.closing = True
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    # -- request loop -----------------------------------------------------------------

    async def _serve(self) -> None:
        try:
            while not self.closing:
                try:
                    request = await self.read_request()
                except HttpError as exc:
                    self._reject(exc)
                    return
                if request is None:
                    return
                self.busy = True
                try:
                    await self._server.handler(request, self)
                finally:
                    self.busy = False
                if not request.keep_alive:
                    return
        except (PeerGone, ConnectionError):
            return
        except asyncio.CancelledError:
            self.abort()
            raise
        except Exception:
            log.exception("emulator: request handler failed")
            self.abort()
        finally:
            self.close()

    def _reject(self, exc: HttpError) -> None:
        body = exc.message.encode()
        try:
            self.write(
                head(
                    exc.status,
                    [
                        ("content-type", "text/plain; charset=utf-8"),
                        ("content-length", str(len(body))),
                        ("connection", "close"),
                    ],
                )
                + body
            )
        except PeerGone:
            pass


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


Handler = Callable[[HttpRequest, Connection], Awaitable[None]]


class HttpServer:
    """Listens on ``host:port`` and runs ``handler`` for every request."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.connections: set[Connection] = set()
        self._server: asyncio.Server | None = None
        self.loop = asyncio.get_running_loop()

    async def start(self) -> None:
        """Bind and start accepting connections."""
        self._server = await self.loop.create_server(
            lambda: Connection(self), self.host, self.port, reuse_address=True, backlog=4096
        )
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])

    async def stop(self) -> None:
        """Stop accepting, close idle connections, reset busy ones, await every task."""
        if self._server is None:
            return
        self._server.close()
        tasks: list[asyncio.Task[None]] = []
        for conn in list(self.connections):
            if conn.busy:
                conn.abort()
            else:
                conn.close()
            if conn.task is not None and not conn.task.done():
                conn.task.cancel()
                tasks.append(conn.task)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None
