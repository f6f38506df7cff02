"""The provider emulator: routes requests to wire formats and plays the script."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from ai_lib_python.testing._anthropic import AnthropicFormat
from ai_lib_python.testing._anthropic import models_body as anthropic_models
from ai_lib_python.testing._cohere import CohereFormat
from ai_lib_python.testing._embeddings import embedding_body
from ai_lib_python.testing._gemini import GeminiFormat
from ai_lib_python.testing._gemini import models_body as gemini_models
from ai_lib_python.testing._openai import OpenAIFormat
from ai_lib_python.testing._openai import models_body as openai_models
from ai_lib_python.testing._respond import plan_stream, write_body, write_stream
from ai_lib_python.testing._script import (
    Fault,
    Raw,
    RecordedRequest,
    Reply,
    Script,
    Scriptable,
    ScriptItem,
)
from ai_lib_python.testing._server import (
    Connection,
    HttpRequest,
    HttpServer,
    PeerGone,
    merge_headers,
)
from ai_lib_python.testing._wire import ErrorSpec, Exchange, WireFormat, estimate_tokens

__all__ = ["ProviderEmulator", "serve"]

log = logging.getLogger("ai_lib_python.testing")

DEFAULT_MODELS: tuple[str, ...] = (
    "gpt-4o",
    "gpt-4o-mini",
    "claude-sonnet-4-5",
    "gemini-2.5-flash",
    "command-a-03-2025",
    "text-embedding-3-small",
)

_FORMATS: dict[str, WireFormat] = {
    f.name: f for f in (OpenAIFormat(), AnthropicFormat(), GeminiFormat(), CohereFormat())
}

# Provider ids (as in manifests) whose wire format is not OpenAI's, for url_for().
_PROVIDER_FORMAT: dict[str, str] = {
    "anthropic": "anthropic",
    "gemini": "gemini",
    "google": "gemini",
    "cohere": "cohere",
}
_PREFIX = {"openai": "/v1", "anthropic": "/v1", "gemini": "/v1beta", "cohere": "/v2"}
_INVALID_MARKER = "EMU-INVALID-UTF8-MARKER"


def _route(request: HttpRequest) -> tuple[str | None, str]:
    """(wire format, action) for a request path; the format is None when unknown."""
    path = request.path.rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if path.endswith("/chat/completions"):
        return "openai", "chat"
    if path.endswith("/messages/count_tokens"):
        return "anthropic", "count_tokens"
    if path.endswith("/messages"):
        return "anthropic", "chat"
    if last.endswith((":generateContent", ":streamGenerateContent")):
        return "gemini", "chat"
    if path.endswith("/v2/chat"):
        return "cohere", "chat"
    if last.endswith((":batchEmbedContents", ":embedContent")):
        return "gemini", "embeddings"
    if path.endswith("/v2/embed"):
        return "cohere", "embeddings"
    if path.endswith("/embeddings"):
        return "openai", "embeddings"
    if path.endswith("/models") and request.method == "GET":
        if "/v1beta" in path:
            return "gemini", "models"
        if "anthropic-version" in request.headers:
            return "anthropic", "models"
        return "openai", "models"
    return None, "unknown"


_ITEM_TYPES = (Reply, Fault, Raw)


def _is_item(value: object) -> bool:
    return isinstance(value, _ITEM_TYPES)


class ProviderEmulator:
    """An HTTP server that speaks the OpenAI, Anthropic, Gemini and Cohere wire formats.

    Use it as an async context manager (it binds ``host`` on a free port unless ``port``
    is given), or start it in a background thread for synchronous code with
    :meth:`start_in_thread`. Script answers with :meth:`enqueue`; with nothing queued
    it answers ``"Echo: <last user text>"``.

    Args:
        host: Interface to bind.
        port: Port to bind; ``0`` picks a free one.
        require_key: When set, requests must carry this key in the provider's auth
            header (or Gemini's ``key`` query parameter), else they get the provider's
            authentication error.
        latency: Seconds to wait before every response, or a mapping from model name to
            seconds (key ``"*"`` for the rest).
        models: Model ids listed by the models endpoints.
        embedding_dimensions: Vector size of ``/v1/embeddings`` unless the request
            sets ``dimensions``.
        max_recorded: Keep only this many most recent requests in :attr:`requests`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        require_key: str | None = None,
        latency: float | Mapping[str, float] = 0.0,
        models: Sequence[str] = DEFAULT_MODELS,
        embedding_dimensions: int = 16,
        max_recorded: int | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self.require_key = require_key
        self.latency = latency
        self.models = list(models)
        self.embedding_dimensions = embedding_dimensions
        self.max_recorded = max_recorded
        self._script = Script()
        self._requests: list[RecordedRequest] = []
        self._seq = 0
        self._disconnects = 0
        self._server: HttpServer | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> ProviderEmulator:
        """Bind and start serving on the running event loop."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._stopping = False
        server = HttpServer(self._handle, self._host, self._port)
        await server.start()
        self._server = server
        self._port = server.port
        log.debug("provider emulator listening on %s", self.base_url)
        return self

    async def aclose(self) -> None:
        """Stop serving: close idle connections, reset busy ones."""
        server, self._server = self._server, None
        if server is not None:
            self._stopping = True
            await server.stop()

    async def __aenter__(self) -> ProviderEmulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @classmethod
    def start_in_thread(
        cls,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        require_key: str | None = None,
        latency: float | Mapping[str, float] = 0.0,
        models: Sequence[str] = DEFAULT_MODELS,
        embedding_dimensions: int = 16,
        max_recorded: int | None = None,
    ) -> ProviderEmulator:
        """Start an emulator on its own event loop in a daemon thread; :meth:`stop` ends it."""
        emu = cls(
            host=host,
            port=port,
            require_key=require_key,
            latency=latency,
            models=models,
            embedding_dimensions=embedding_dimensions,
            max_recorded=max_recorded,
        )
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(emu.start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            emu._thread_loop = loop
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        thread = threading.Thread(target=run, name="provider-emulator", daemon=True)
        thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        emu._thread = thread
        return emu

    def stop(self, timeout: float = 5.0) -> None:
        """Stop an emulator started with :meth:`start_in_thread` and join its thread."""
        loop, thread = self._thread_loop, self._thread
        if loop is None or thread is None:
            raise RuntimeError("stop() ends a start_in_thread() emulator; use `await aclose()`")
        asyncio.run_coroutine_threadsafe(self.aclose(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread_loop = None
        self._thread = None

    def __enter__(self) -> ProviderEmulator:
        if self._thread is None:
            raise RuntimeError("use `with ProviderEmulator.start_in_thread() as emu:`")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses and state ----------------------------------------------------------

    @property
    def host(self) -> str:
        """The bound interface."""
        return self._host

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port``, without a path."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    def url_for(self, provider: str) -> str:
        """Base URL with the version prefix a provider's SDK or manifest expects.

        ``.../v1`` for OpenAI-compatible providers and Anthropic, ``.../v1beta`` for
        Gemini, ``.../v2`` for Cohere; unknown providers get ``.../v1``.
        """
        fmt = _PROVIDER_FORMAT.get(provider.lower().split("/", 1)[0], "openai")
        return self.base_url + _PREFIX[fmt]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, oldest first."""
        return self._requests

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request."""
        if not self._requests:
            raise LookupError("the emulator has received no request")
        return self._requests[-1]

    @property
    def disconnects(self) -> int:
        """Responses the client abandoned before the emulator finished writing them."""
        return self._disconnects

    @property
    def open_connections(self) -> int:
        """Client connections currently open."""
        return len(self._server.connections) if self._server is not None else 0

    @property
    def pending(self) -> int:
        """Scripted items not yet consumed (defaults excluded)."""
        return self._script.pending()

    async def wait_for_disconnects(self, count: int = 1, timeout: float = 5.0) -> int:
        """Wait until :attr:`disconnects` reaches ``count``; return it (even on timeout)."""
        deadline = time.monotonic() + timeout
        # Polling, not an Event: the emulator may run on another thread's loop.
        while self._disconnects < count and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        return self._disconnects

    async def wait_for_idle(self, timeout: float = 5.0) -> int:
        """Wait until no connection is open; return :attr:`open_connections`."""
        deadline = time.monotonic() + timeout
        while self.open_connections and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        return self.open_connections

    # -- scripting --------------------------------------------------------------------

    def enqueue(self, *items: Scriptable, format: str | None = None) -> None:
        """Queue answers for the next requests, in order.

        Each item is a :class:`Reply`, a :class:`Fault`, a :class:`Raw` or a responder
        (a callable taking the :class:`RecordedRequest`, returning one of those or an
        awaitable of one). With ``format`` (``"openai"``, ``"anthropic"``, ``"gemini"``,
        ``"cohere"``) the items only answer requests of that wire format; those queues
        are served before the general one.
        """
        _check_format(format)
        for item in items:
            if not (_is_item(item) or callable(item)):
                raise TypeError(f"cannot script {type(item).__name__!r}")
            self._script.enqueue(item, format)

    def set_default(self, item: Scriptable | None, *, format: str | None = None) -> None:
        """Answer with ``item`` whenever the queue is empty (``None`` restores the echo)."""
        _check_format(format)
        if item is not None and not (_is_item(item) or callable(item)):
            raise TypeError(f"cannot script {type(item).__name__!r}")
        self._script.set_default(item, format)

    def reset(self) -> None:
        """Forget queued items, defaults, recorded requests and the disconnect count."""
        self._script.clear()
        self._requests.clear()
        self._disconnects = 0

    # -- request handling -------------------------------------------------------------

    def _record(self, request: HttpRequest, fmt: str | None) -> RecordedRequest:
        parsed: Any = None
        if request.body:
            try:
                parsed = json.loads(request.body)
            except ValueError:
                parsed = None
        rec = RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.query,
            headers=request.headers,
            json=parsed,
            body=request.body,
            format=fmt,
            received_at=time.monotonic(),
        )
        self._requests.append(rec)
        if self.max_recorded is not None and len(self._requests) > self.max_recorded:
            del self._requests[: len(self._requests) - self.max_recorded]
        return rec

    def _latency_for(self, model: str) -> float:
        if isinstance(self.latency, Mapping):
            return float(self.latency.get(model, self.latency.get("*", 0.0)))
        return float(self.latency)

    async def _handle(self, request: HttpRequest, conn: Connection) -> None:
        fmt, action = _route(request)
        rec = self._record(request, fmt)
        self._seq += 1
        seq = self._seq
        request_id = f"req_emu{seq:08d}"
        common: list[tuple[str, str]] = []
        if not request.keep_alive:
            common.append(("connection", "close"))
        try:
            if fmt is None:
                wire = _FORMATS["openai"]
                spec = ErrorSpec(
                    404,
                    f"Unknown request URL: {request.method} {request.path}.",
                    "invalid_request_error",
                    "unknown_url",
                )
                await self._send_error(conn, rec, wire, spec, request_id, common)
                return
            wire = _FORMATS[fmt]
            rec.auth, key = wire.auth(rec)
            if self.require_key is not None and key != self.require_key:
                spec = wire.auth_error(missing=key is None)
                await self._send_error(conn, rec, wire, spec, request_id, common)
                return
            if request.method != ("GET" if action == "models" else "POST"):
                spec = wire.error_spec(405, None)
                spec = dataclasses.replace(spec, message=f"Method {request.method} not allowed.")
                await self._send_error(conn, rec, wire, spec, request_id, common)
                return
            if action != "chat":
                await self._send_utility(conn, rec, wire, action, request_id, common)
                return
            ex = wire.exchange(rec, seq, int(time.time()))
            rec.model = ex.model
            rec.stream = ex.stream
            item = await self._resolve(self._script.next(fmt), rec)
            await self._answer(conn, rec, wire, ex, item, request_id, common)
        except PeerGone:
            if not self._stopping and rec.response.outcome == "pending":
                rec.response.outcome = "client_disconnected"
                rec.response.finished_at = time.monotonic()
                self._disconnects += 1
            raise
        except Exception as exc:
            # A bug in a responder (or here) must not look like a network failure.
            log.exception("emulator: failed to answer %s %s", request.method, request.path)
            if rec.response.first_byte_at is not None:
                raise
            message = f"emulator error: {type(exc).__name__}: {exc}"
            body = json.dumps({"error": {"message": message, "type": "emulator_error"}}).encode()
            await write_body(
                conn,
                rec.response,
                500,
                [("content-type", "application/json"), ("connection", "close")],
                body,
            )
            conn.close()

    async def _resolve(self, item: Scriptable | None, rec: RecordedRequest) -> ScriptItem | None:
        if item is None or isinstance(item, _ITEM_TYPES):
            return item
        result: object = item(rec)
        if inspect.isawaitable(result):
            result = await result
        if not isinstance(result, _ITEM_TYPES):
            raise TypeError(f"responder returned {type(result).__name__!r}, not Reply/Fault/Raw")
        return result

    def _fallback_reply(self, ex: Exchange) -> Reply:
        default = self._script.default(ex.format)
        if isinstance(default, Reply):
            return default
        return Reply(
            text=f"Echo: {ex.user_text}",
            thinking=f"Reasoning about: {ex.user_text}" if ex.wants_thinking else None,
        )

    async def _answer(
        self,
        conn: Connection,
        rec: RecordedRequest,
        wire: WireFormat,
        ex: Exchange,
        item: ScriptItem | None,
        request_id: str,
        common: list[tuple[str, str]],
    ) -> None:
        latency = self._latency_for(ex.model)
        if isinstance(item, Raw):
            await conn.sleep(latency + item.delay)
            await self._send_raw(conn, rec, item, common)
            return
        fault = item if isinstance(item, Fault) else None
        if fault is not None and fault.kind == "status":
            await conn.sleep(latency)
            spec = wire.error_spec(fault.http_status, ex)
            spec = ErrorSpec(
                fault.http_status,
                fault.message or spec.message,
                fault.error_type or spec.error_type,
                fault.code or spec.code,
                spec.details,
            )
            await self._send_error(conn, rec, wire, spec, request_id, common, fault)
            return
        reply = item if isinstance(item, Reply) else None
        if reply is None:
            reply = (
                fault.reply
                if fault is not None and fault.reply is not None
                else self._fallback_reply(ex)
            )
        delay = latency + reply.delay
        if fault is not None and fault.kind == "first_byte_delay":
            delay += fault.seconds
        await conn.sleep(delay)
        if fault is not None and fault.kind == "disconnect" and fault.after_chunks is None:
            conn.abort()
            rec.response.outcome = "server_disconnected"
            rec.response.finished_at = time.monotonic()
            return
        error = None
        if fault is not None and fault.kind == "stream_error":
            error = wire.kind_spec(
                fault.error_kind or "overloaded", fault.message, fault.error_type, ex
            )
            if not ex.stream:
                await self._send_error(conn, rec, wire, error, request_id, common)
                return
        if ex.stream:
            body = wire.stream(reply, ex)
            headers = merge_headers(
                [("content-type", body.content_type), ("cache-control", "no-cache")],
                [(wire.request_id_header, request_id)],
                common,
                reply.headers.items(),
            )
            await write_stream(
                conn,
                rec.response,
                200,
                headers,
                plan_stream(body, fault, error),
                array=body.array,
                chunk_delay=reply.chunk_delay,
            )
            return
        if fault is not None and fault.kind == "invalid_utf8":
            marked = dataclasses.replace(reply, text=_INVALID_MARKER, candidates=None)
            data = wire.body(marked, ex).replace(_INVALID_MARKER.encode(), b"\xff\xfe")
        else:
            data = wire.body(reply, ex)
        headers = merge_headers(
            [("content-type", wire.json_content_type), (wire.request_id_header, request_id)],
            common,
            reply.headers.items(),
        )
        await write_body(conn, rec.response, 200, headers, data, fault)

    async def _send_error(
        self,
        conn: Connection,
        rec: RecordedRequest,
        wire: WireFormat,
        spec: ErrorSpec,
        request_id: str,
        common: list[tuple[str, str]],
        fault: Fault | None = None,
    ) -> None:
        body = fault.body if fault is not None and fault.body is not None else None
        if body is None:
            body = wire.error_body(spec, request_id)
        headers = merge_headers(
            [("content-type", wire.json_content_type), (wire.request_id_header, request_id)],
            common,
            fault.headers.items() if fault is not None else (),
        )
        await write_body(conn, rec.response, spec.status, headers, body)

    async def _send_utility(
        self,
        conn: Connection,
        rec: RecordedRequest,
        wire: WireFormat,
        action: str,
        request_id: str,
        common: list[tuple[str, str]],
    ) -> None:
        if action == "models":
            if wire.name == "gemini":
                body = gemini_models(self.models)
            elif wire.name == "anthropic":
                body = anthropic_models(self.models)
            else:
                body = openai_models(self.models, int(time.time()))
        elif action == "embeddings":
            body = embedding_body(wire.name, rec, self.embedding_dimensions, self._seq)
        else:  # Anthropic count_tokens
            payload = rec.json if isinstance(rec.json, dict) else {}
            chars = len(json.dumps([payload.get("system"), payload.get("messages")]))
            body = json.dumps({"input_tokens": estimate_tokens(chars) or 1}).encode()
        await self._send_raw(
            conn,
            rec,
            Raw(
                body=body,
                headers={
                    "content-type": wire.json_content_type,
                    wire.request_id_header: request_id,
                },
            ),
            common,
        )

    async def _send_raw(
        self, conn: Connection, rec: RecordedRequest, raw: Raw, common: list[tuple[str, str]]
    ) -> None:
        headers = [
            h
            for h in merge_headers(raw.headers.items(), common)
            if h[0] not in ("content-length", "transfer-encoding")
        ]
        if raw.frames is not None:
            frames = [f.encode() if isinstance(f, str) else f for f in raw.frames]
            await write_stream(
                conn,
                rec.response,
                raw.status,
                headers,
                frames,
                chunk_delay=raw.chunk_delay,
                chunk_per_frame=True,
            )
            return
        body = raw.body.encode() if isinstance(raw.body, str) else raw.body
        await write_body(conn, rec.response, raw.status, headers, body)


def _check_format(fmt: str | None) -> None:
    if fmt is not None and fmt not in _FORMATS:
        raise ValueError(f"unknown wire format {fmt!r}; expected one of {sorted(_FORMATS)}")


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    require_key: str | None = None,
    latency: float = 0.0,
    on_ready: Callable[[ProviderEmulator], None] | None = None,
) -> None:
    """Run an emulator in the foreground until interrupted (Ctrl-C).

    It answers every request with the echo reply. ``on_ready`` is called with the
    running emulator once it listens (the CLI prints its address from there).
    """

    async def main() -> None:
        emu = ProviderEmulator(
            host=host, port=port, require_key=require_key, latency=latency, max_recorded=1000
        )
        async with emu:
            log.info("provider emulator listening on %s", emu.base_url)
            if on_ready is not None:
                on_ready(emu)
            await asyncio.Event().wait()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        log.info("provider emulator stopped")
