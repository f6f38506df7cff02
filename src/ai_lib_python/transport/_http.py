"""HttpTransport: the one httpx.AsyncClient of an AiClient, and the one place that
turns httpx failures into the library's errors.

The seam for tests is httpx's own: pass any ``httpx.AsyncBaseTransport`` (such as
``httpx.MockTransport``) as ``transport=``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from ai_lib_python.errors import (
    ConnectError,
    ConnectTimeoutError,
    FirstTokenTimeoutError,
    IdleTimeoutError,
    ResponseTooLargeError,
    TotalTimeoutError,
    TransportError,
    redact,
)
from ai_lib_python.transport._timeout import Timeout

DEFAULT_LIMITS = httpx.Limits(max_connections=512, max_keepalive_connections=128,
                              keepalive_expiry=30.0)


class _Alarm:
    """Cancels the awaiting task when ``seconds`` pass: a timeout scope that costs a
    timer handle, not a task (``asyncio.wait_for`` wraps the awaitable in a task).
    Armed only around the library's own awaits, so it never fires in user code."""

    __slots__ = ("fired", "handle", "task")

    def __init__(self, seconds: float) -> None:
        import asyncio

        task = asyncio.current_task()
        assert task is not None
        self.task = task
        self.fired = False
        self.handle = task.get_loop().call_later(max(0.0, seconds), self._fire)

    def _fire(self) -> None:
        self.fired = True
        self.task.cancel()

    def disarm(self) -> bool:
        """Stop the alarm; True when it had fired (the CancelledError is ours)."""
        self.handle.cancel()
        if self.fired:
            uncancel = getattr(self.task, "uncancel", None)
            if uncancel is not None:  # Python 3.11+: keep the task's cancel count right
                uncancel()
        return self.fired


class _EntryTurn:
    """One request's turn at the door of the connection pool: released when the pool
    gave it a connection (httpcore's first trace event of the request) or when the
    send ended. httpcore hands an idle keep-alive connection to every request queued
    in one pass (encode/httpcore#1110); all but one then fail over and retry, each
    retry rescanning the pool. Letting a burst of requests in one at a time, each
    once the previous one holds its connection, avoids that churn."""

    __slots__ = ("lock",)

    def __init__(self, lock: Any) -> None:
        self.lock: Any = lock

    async def trace(self, event: str, info: Any) -> None:
        self.release()

    def release(self) -> None:
        lock, self.lock = self.lock, None
        if lock is not None:
            lock.release()


class HttpResponse:
    """A response whose body is read incrementally; always closed by its owner."""

    __slots__ = ("_first", "_resp", "_timeout", "deadline", "received_bytes", "started")

    def __init__(self, resp: httpx.Response, timeout: Timeout, deadline: float | None,
                 started: float) -> None:
        self._resp = resp
        self._timeout = timeout
        self.deadline = deadline
        self.started = started
        self._first = True
        self.received_bytes = 0

    @property
    def status(self) -> int:
        return self._resp.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self._resp.headers

    @property
    def url(self) -> str:
        return str(self._resp.url.copy_with(query=None))

    async def chunks(self) -> AsyncIterator[bytes]:
        """Body chunks as they arrive, under the first-token, idle and total timeouts."""
        import asyncio

        it = self._resp.aiter_bytes().__aiter__()
        deadline = self.deadline
        first_token = self._timeout.first_token
        while True:
            alarm: _Alarm | None = None
            try:
                if self._first and first_token is not None:
                    limit = first_token - (time.monotonic() - self.started)
                    if deadline is not None:
                        limit = min(limit, deadline - time.monotonic())
                    alarm = _Alarm(limit)
                elif deadline is not None and self._timeout.idle is None:
                    alarm = _Alarm(deadline - time.monotonic())
                try:
                    chunk = await it.__anext__()
                finally:
                    if alarm is not None and alarm.disarm():
                        raise self._timeout_error()
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                if alarm is not None and alarm.fired:
                    raise self._timeout_error() from None
                raise
            except httpx.HTTPError as exc:
                raise convert_error(exc, first=self._first, url=self.url,
                                    timeout=self._timeout) from None
            if deadline is not None and time.monotonic() > deadline:
                raise TotalTimeoutError(
                    f"the call exceeded its total timeout of {self._timeout.total}s",
                    url=self.url)
            self._first = False
            self.received_bytes += len(chunk)
            yield chunk

    def _timeout_error(self) -> TransportError:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return TotalTimeoutError(
                f"the call exceeded its total timeout of {self._timeout.total}s", url=self.url)
        if self._first:
            return FirstTokenTimeoutError(
                f"no response within the first-token timeout of {self._timeout.first_token}s",
                url=self.url)
        return IdleTimeoutError(
            f"the stream was idle longer than {self._timeout.idle}s", url=self.url)

    async def read(self, limit: int | None = None) -> bytes:
        parts: list[bytes] = []
        size = 0
        async for chunk in self.chunks():
            parts.append(chunk)
            size += len(chunk)
            if limit is not None and size > limit:
                raise ResponseTooLargeError(
                    f"response body larger than the limit of {limit} bytes", limit=limit,
                    url=self.url)
        return b"".join(parts)

    async def aclose(self) -> None:
        await self._resp.aclose()


def convert_error(exc: BaseException, *, first: bool, url: str | None,
                  timeout: Timeout) -> TransportError:
    """The only conversion of httpx failures into library errors."""
    text = redact(str(exc) or type(exc).__name__)
    if isinstance(exc, httpx.ConnectTimeout):
        err: TransportError = ConnectTimeoutError(
            f"connecting took longer than {timeout.connect}s: {text}", url=url)
    elif isinstance(exc, httpx.PoolTimeout):
        err = ConnectTimeoutError(f"no free connection in the pool: {text}", url=url)
    elif isinstance(exc, httpx.ReadTimeout):
        if first:
            err = FirstTokenTimeoutError(
                f"no response within {timeout.first_token}s: {text}", url=url)
        else:
            err = IdleTimeoutError(f"the stream was idle longer than {timeout.idle}s", url=url)
    elif isinstance(exc, httpx.TimeoutException):
        err = TotalTimeoutError(f"timed out: {text}", url=url)
    elif isinstance(exc, httpx.ConnectError):
        err = ConnectError(f"could not connect: {text}", url=url)
    elif isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        err = ConnectError(f"the connection was lost: {text}", url=url)
    else:
        err = TransportError(f"HTTP transport failed: {text}", url=url)
    return err


async def _close_response(resp: httpx.Response) -> None:
    """Close ``resp`` even if the task is cancelled meanwhile, then let the cancel go on.

    httpcore's own shielding does not hold against ``Task.cancel()`` under asyncio: a
    close interrupted half-way leaves its pooled connection checked out for good.
    """
    import asyncio

    closing = asyncio.ensure_future(resp.aclose())
    try:
        await asyncio.shield(closing)
    except asyncio.CancelledError:
        if not closing.done():
            await asyncio.shield(closing)
        raise


async def _reclaim_orphaned_connections(client: httpx.AsyncClient) -> None:
    """Close pooled connections that no request owns and that are neither idle nor closed.

    httpcore leaves one behind when a request is cancelled after the pool gave it a
    new connection and before the request started on it (encode/httpcore#1093); it
    would hold a pool slot for good. Closed, the pool drops it on its next request.
    A no-op for transports without an httpcore pool.
    """
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    if pool is None:
        return
    try:
        owned = {id(r.connection) for r in getattr(pool, "_requests", ())
                 if getattr(r, "connection", None) is not None}
        orphans = [c for c in list(pool.connections)
                   if id(c) not in owned and not c.is_idle() and not c.is_closed()]
        for conn in orphans:
            await conn.aclose()
    except Exception:  # best effort: never mask the caller's cancellation or timeout
        return


class HttpTransport:
    """Owns one ``httpx.AsyncClient``; closes only what it created."""

    def __init__(
        self,
        *,
        timeout: Timeout | None = None,
        limits: httpx.Limits | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
        max_response_bytes: int | None = 64 * 1024 * 1024,
    ) -> None:
        self.timeout = timeout or Timeout()
        self.max_response_bytes = max_response_bytes
        t = self.timeout
        self._owns = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(connect=t.connect, read=t.idle, write=t.idle, pool=t.connect),
            limits=limits or DEFAULT_LIMITS,
            transport=transport,
            follow_redirects=False,
            trust_env=transport is None,
        )
        self.closed = False
        # Requests on a client of our own are built here, with what build_request would
        # merge in (its default headers, timeouts and cookies: it has no base URL or
        # default params), from URL and header objects parsed once per distinct value.
        # A client passed in keeps build_request, so all of its own settings apply.
        self._timeout_ext = {"timeout": self._client.timeout.as_dict()}
        self._urls: dict[Any, httpx.URL] = {}
        self._header_sets: dict[tuple[tuple[str, str], ...], httpx.Headers] = {}
        # Requests between send() and their response headers; the pool's door (a lock
        # of the running loop) is used only while another one is starting.
        self._starting = 0
        # Only on a client of our own whose requests all go to one httpcore pool: no
        # proxy or other mounts (each with a pool of its own), no HTTP/2, no hooks.
        self._gated = (self._owns and transport is None
                       and isinstance(getattr(self._client, "_transport", None),
                                      httpx.AsyncHTTPTransport)
                       and not getattr(self._client, "_mounts", None))
        self._door: Any = None
        self._door_loop: Any = None

    async def _take_turn(self, request: httpx.Request) -> _EntryTurn:
        """Wait for the pool's door. The wait counts against the request's pool timeout,
        as a wait inside the pool would: what is left of it goes on to the pool, and
        when nothing is left the request fails as a pool timeout does."""
        door = self._door_lock()
        timeouts = request.extensions.get("timeout") or {}
        pool = timeouts.get("pool")
        if door.locked() and pool is not None:
            started = time.monotonic()
            alarm = _Alarm(pool)
            try:
                await door.acquire()
            finally:
                if alarm.disarm():
                    raise httpx.PoolTimeout(
                        f"waited {pool}s for a connection", request=request) from None
            left = max(pool - (time.monotonic() - started), 0.001)
            request.extensions = {**request.extensions, "timeout": {**timeouts, "pool": left}}
        else:
            await door.acquire()
        turn = _EntryTurn(door)
        request.extensions = {**request.extensions, "trace": turn.trace}
        return turn

    def _door_lock(self) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        if self._door is None or self._door_loop is not loop:
            self._door, self._door_loop = asyncio.Lock(), loop
        return self._door

    def _build(self, method: str, url: str, headers: Mapping[str, str],
               params: Mapping[str, str] | None, content: bytes | None,
               ext: dict[str, Any] | None) -> httpx.Request:
        client = self._client
        if not self._owns:
            return client.build_request(method, url, headers=headers, params=params or None,
                                        content=content, extensions=ext)
        key: Any = (url, tuple(params.items())) if params else url
        parsed = self._urls.get(key)
        if parsed is None:
            if len(self._urls) >= 256:
                self._urls.clear()
            parsed = httpx.URL(url)
            if params:
                parsed = parsed.copy_merge_params(params)
            self._urls[key] = parsed
        hkey = tuple(headers.items())
        merged = self._header_sets.get(hkey)
        if merged is None:
            if len(self._header_sets) >= 256:
                self._header_sets.clear()
            merged = httpx.Headers(client.headers)
            merged.update(headers)
            self._header_sets[hkey] = merged
        cookies = client.cookies
        return httpx.Request(method, parsed, headers=merged, content=content,
                             extensions=ext or self._timeout_ext,
                             cookies=cookies if cookies else None)

    @asynccontextmanager
    async def open(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: Timeout | None = None,
    ) -> AsyncIterator[HttpResponse]:
        """Send a request and yield the response with its body unread; always closes it."""
        import asyncio
        t = timeout or self.timeout
        started = time.monotonic()
        deadline = started + t.total if t.total is not None else None
        ext: dict[str, Any] = {}
        if timeout is not None:
            ext["timeout"] = {"connect": t.connect, "read": t.idle, "write": t.idle,
                              "pool": t.connect}
        request = self._build(method, url, headers, params, content, ext or None)
        limit = t.first_token
        if t.total is not None:
            limit = t.total if limit is None else min(limit, t.total)
        alarm = _Alarm(limit) if limit is not None else None
        turn: _EntryTurn | None = None
        self._starting += 1
        try:
            try:
                if self._starting > 1 and self._gated:  # a burst: into the pool in turn
                    turn = await self._take_turn(request)
                resp = await self._client.send(request, stream=True)
            finally:
                self._starting -= 1
                if turn is not None:
                    turn.release()
                if alarm is not None and alarm.disarm():
                    raise asyncio.TimeoutError
        except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
            await _reclaim_orphaned_connections(self._client)
            if isinstance(exc, asyncio.CancelledError) and not (alarm and alarm.fired):
                raise
            if deadline is not None and time.monotonic() >= deadline:
                raise TotalTimeoutError(
                    f"the call exceeded its total timeout of {t.total}s",
                    url=str(request.url.copy_with(query=None))) from None
            raise FirstTokenTimeoutError(
                f"no response within the first-token timeout of {t.first_token}s",
                url=str(request.url.copy_with(query=None))) from None
        except httpx.HTTPError as exc:
            raise convert_error(exc, first=True, url=str(request.url.copy_with(query=None)),
                                timeout=t) from None
        wrapped = HttpResponse(resp, t, deadline, started)
        try:
            yield wrapped
        finally:
            await _close_response(resp)

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._owns:
            await self._client.aclose()
