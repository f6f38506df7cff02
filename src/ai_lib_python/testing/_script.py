"""What the emulator answers: scripted replies, faults, raw bytes, and the request log.

A test scripts the emulator with three kinds of items:

* :class:`Reply` - a successful answer, rendered in the wire format of the endpoint hit
  (text, thinking, tool calls, usage, several candidates).
* :class:`Fault` - an HTTP error in the provider's own body shape, or damage to the
  transport: an error event inside a 200 stream, a dropped connection, a delay, a stall,
  a malformed or non-UTF-8 frame, a body cut short.
* :class:`Raw` - exact bytes, for replaying a recorded exchange verbatim.

An item may also be a *responder*: a callable that receives the
:class:`RecordedRequest` and returns one of the above (or an awaitable of one).

Every request the emulator receives is logged as a :class:`RecordedRequest`; its
:class:`ResponseLog` holds the server's own timestamps, so timing assertions never
depend on the client's clock.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

__all__ = [
    "Fault",
    "FaultKind",
    "Raw",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ResponseLog",
    "Script",
    "ScriptItem",
    "Scriptable",
    "ToolCallReply",
]

FaultKind: TypeAlias = Literal[
    "status",
    "stream_error",
    "disconnect",
    "first_byte_delay",
    "stall",
    "malformed",
    "invalid_utf8",
    "truncated",
]

ErrorKind: TypeAlias = Literal[
    "overloaded",
    "rate_limit",
    "server_error",
    "invalid_request",
    "authentication",
    "permission",
    "not_found",
    "request_too_large",
]


@dataclass(frozen=True)
class ToolCallReply:
    """One tool call the emulated model makes.

    ``arguments`` is a mapping (encoded as JSON) or a string sent verbatim, which lets
    a test send argument JSON that does not parse. ``id`` defaults to a deterministic id
    in the provider's style (``call_...``, ``toolu_...``); Gemini sends no id unless one
    is given here.
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """A successful answer, rendered in the wire format of the endpoint that was hit.

    Args:
        text: The assistant text. A string is split into deltas of ``chunk_size``
            characters when streamed; a sequence of strings gives the deltas exactly.
        thinking: Reasoning text: Anthropic ``thinking`` block (with a signature),
            Gemini ``thought: true`` parts, Cohere ``thinking`` content, and on
            OpenAI-style endpoints the ``thinking_field`` of the message / delta.
        tool_calls: Tool calls, in order. Streamed OpenAI-style calls have their argument
            fragments interleaved across calls unless ``interleave_tool_calls`` is false.
        usage: ``(input_tokens, output_tokens)`` as the provider reports them; estimated
            from the text lengths when omitted.
        finish_reason: ``"stop"``, ``"length"``, ``"tool_calls"``, ``"stop_sequence"`` or
            ``"content_filter"`` (translated to each provider's word), or any other
            string, sent verbatim. Derived from the reply when omitted.
        chunk_size: Characters per streamed text, thinking or argument fragment.
        candidates: Texts of several choices (OpenAI ``n``, Gemini ``candidateCount``);
            streamed chunks of the choices are interleaved. Without it, a request for
            ``n`` choices gets ``n`` copies of ``text``.
        thinking_field: Name of the reasoning field on OpenAI-style endpoints
            (``"reasoning_content"`` as DeepSeek, or ``"reasoning"`` as Groq/OpenRouter).
        signature: Anthropic thinking signature / Gemini ``thoughtSignature``; a
            deterministic value is derived from the thinking text when omitted.
        cached_tokens: Prompt tokens reported as served from the provider's cache.
        reasoning_tokens: Reasoning tokens reported in usage details; estimated from
            ``thinking`` when omitted.
        stop_sequence: The matched stop sequence (Anthropic ``stop_sequence``).
        interleave_tool_calls: Interleave streamed argument fragments across calls.
        delay: Seconds the server waits before the first byte of this reply.
        chunk_delay: Seconds the server waits between streamed frames.
        headers: Extra response headers (rate-limit headers, for instance).
        model: Model name to report instead of the one requested.
    """

    text: str | Sequence[str] = ""
    thinking: str | Sequence[str] | None = None
    tool_calls: Sequence[ToolCallReply] = ()
    usage: tuple[int, int] | None = None
    finish_reason: str | None = None
    chunk_size: int = 4
    candidates: Sequence[str] | None = None
    thinking_field: str = "reasoning_content"
    signature: str | None = None
    cached_tokens: int = 0
    reasoning_tokens: int | None = None
    stop_sequence: str | None = None
    interleave_tool_calls: bool = True
    delay: float = 0.0
    chunk_delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    model: str | None = None

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        if self.candidates is not None and len(self.candidates) == 0:
            raise ValueError("candidates must not be empty")

    @property
    def full_text(self) -> str:
        """The whole assistant text of the first candidate."""
        if self.candidates:
            return self.candidates[0]
        return self.text if isinstance(self.text, str) else "".join(self.text)

    @property
    def full_thinking(self) -> str:
        """The whole reasoning text ("" when there is none)."""
        if self.thinking is None:
            return ""
        return self.thinking if isinstance(self.thinking, str) else "".join(self.thinking)


def _retry_after_value(value: float | str | _dt.datetime) -> str:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return email.utils.format_datetime(value.astimezone(_dt.timezone.utc), usegmt=True)
    if isinstance(value, str):
        return value
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


@dataclass(frozen=True)
class Fault:
    """A failure to inject. Build one with the class methods, not the constructor.

    Streamed faults count *chunks*: the frames on the wire, one per SSE event
    (every event counts, including Anthropic ``message_start`` and ``ping`` and the
    OpenAI ``[DONE]`` line) or one per element of a Gemini JSON-array stream.
    ``after_chunks=N`` acts after the first ``N`` frames were written.

    Faults that damage a successful answer render ``reply`` (or, when it is ``None``,
    whatever the emulator would have answered: the default reply or the echo).
    """

    kind: FaultKind
    after_chunks: int | None = None
    seconds: float = 0.0
    http_status: int = 0
    error_kind: str | None = None
    message: str | None = None
    error_type: str | None = None
    code: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    reply: Reply | None = None

    @classmethod
    def status(
        cls,
        status: int,
        *,
        message: str | None = None,
        error_type: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | str | _dt.datetime | None = None,
        retry_after_ms: int | None = None,
        body: bytes | str | None = None,
    ) -> Fault:
        """An HTTP error status with the provider's own error body for the endpoint hit.

        ``error_type``/``code`` override the provider's type and code strings (OpenAI
        ``type``/``code``, Anthropic ``error.type``, Gemini ``status``). ``retry_after``
        sets ``retry-after`` as seconds (a number), an HTTP-date (a ``datetime``) or a
        verbatim string; ``retry_after_ms`` sets ``retry-after-ms``. ``body`` replaces
        the whole body verbatim.
        """
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        merged = dict(headers or {})
        if retry_after is not None:
            merged["retry-after"] = _retry_after_value(retry_after)
        if retry_after_ms is not None:
            merged["retry-after-ms"] = str(int(retry_after_ms))
        raw = body.encode() if isinstance(body, str) else body
        return cls(
            kind="status",
            http_status=status,
            message=message,
            error_type=error_type,
            code=code,
            headers=merged,
            body=raw,
        )

    @classmethod
    def stream_error(
        cls,
        after_chunks: int = 0,
        kind: ErrorKind | str = "overloaded",
        *,
        message: str | None = None,
        error_type: str | None = None,
        reply: Reply | None = None,
    ) -> Fault:
        """An error delivered inside an HTTP 200 stream, after ``after_chunks`` frames.

        Anthropic: ``event: error`` with ``overloaded_error`` (etc.); OpenAI-style:
        ``data: {"error": {...}}``; Gemini: an ``{"error": {...}}`` element; Cohere: a
        ``message-end`` with ``finish_reason: ERROR``. The stream then ends without its
        normal terminator. On a non-streamed request the same error is returned as an
        HTTP status instead.
        """
        return cls(
            kind="stream_error",
            after_chunks=max(0, after_chunks),
            error_kind=kind,
            message=message,
            error_type=error_type,
            reply=reply,
        )

    @classmethod
    def disconnect(cls, after_chunks: int | None = None, *, reply: Reply | None = None) -> Fault:
        """Drop the connection (TCP reset) without finishing the response.

        ``None`` drops it before any byte of the response; ``N`` sends the headers and
        ``N`` frames first. On a non-streamed request any ``N`` sends the headers and
        half of the body.
        """
        return cls(
            kind="disconnect",
            after_chunks=None if after_chunks is None else max(0, after_chunks),
            reply=reply,
        )

    @classmethod
    def first_byte_delay(cls, seconds: float, *, reply: Reply | None = None) -> Fault:
        """Wait ``seconds`` before the status line, then answer normally."""
        return cls(kind="first_byte_delay", seconds=seconds, reply=reply)

    @classmethod
    def stall(cls, after_chunks: int, seconds: float, *, reply: Reply | None = None) -> Fault:
        """Send the headers and ``after_chunks`` frames, go silent ``seconds``, go on.

        On a non-streamed request the silence falls between the headers and the body.
        """
        return cls(kind="stall", after_chunks=max(0, after_chunks), seconds=seconds, reply=reply)

    @classmethod
    def malformed(cls, after_chunks: int = 0, *, reply: Reply | None = None) -> Fault:
        """Insert one frame whose JSON is cut in half after ``after_chunks`` frames.

        The rest of the stream follows unchanged. A non-streamed body is cut in half
        (with a matching ``Content-Length``).
        """
        return cls(kind="malformed", after_chunks=max(0, after_chunks), reply=reply)

    @classmethod
    def invalid_utf8(cls, after_chunks: int = 0, *, reply: Reply | None = None) -> Fault:
        """Insert one text-delta frame whose text bytes are not valid UTF-8.

        The rest of the stream follows unchanged. In a non-streamed body the assistant
        text is replaced by invalid bytes.
        """
        return cls(kind="invalid_utf8", after_chunks=max(0, after_chunks), reply=reply)

    @classmethod
    def truncated(cls, after_chunks: int = 0, *, reply: Reply | None = None) -> Fault:
        """End the body cleanly in the middle of frame ``after_chunks``.

        The HTTP framing is complete (final chunk sent) but the stream lacks its
        terminator and its last event is cut. A non-streamed body is cut in half and
        the connection closed, so the body is shorter than its ``Content-Length``.
        """
        return cls(kind="truncated", after_chunks=max(0, after_chunks), reply=reply)


@dataclass(frozen=True)
class Raw:
    """Exact bytes to send: a recorded response replayed verbatim.

    With ``frames`` the body is sent with ``Transfer-Encoding: chunked``, one HTTP
    chunk per frame (honouring ``chunk_delay``); otherwise ``body`` is sent with a
    ``Content-Length``.
    """

    body: bytes | str = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    frames: Sequence[bytes | str] | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0


@dataclass
class ResponseLog:
    """What the server did for one request, stamped with ``time.monotonic()``.

    ``writes`` holds one ``(frames, timestamp)`` pair per socket write of a streamed
    body: how many frames the write carried and when it was handed to the socket
    (small frames are batched into one write unless a delay separates them).
    ``outcome`` is ``"pending"`` until the response is finished, then ``"complete"``,
    ``"client_disconnected"`` (the client went away first), ``"server_disconnected"``
    (a disconnect fault) or ``"truncated"``.
    """

    status: int = 0
    streamed: bool = False
    first_byte_at: float | None = None
    writes: list[tuple[int, float]] = field(default_factory=list)
    finished_at: float | None = None
    outcome: str = "pending"

    @property
    def frame_times(self) -> list[float]:
        """One timestamp per streamed frame written: the time of the write carrying it."""
        return [at for count, at in self.writes for _ in range(count)]

    @property
    def frames_written(self) -> int:
        """How many streamed frames were handed to the socket."""
        return sum(count for count, _ in self.writes)


@dataclass
class RecordedRequest:
    """One request as the emulator received it.

    ``headers`` have lower-case names; ``json`` is the parsed body or ``None``.
    ``auth`` names the credential form used: ``"bearer"``, ``"x-api-key"``,
    ``"x-goog-api-key"``, ``"query"`` (Gemini ``?key=``) or ``None``. ``format`` is
    the wire format the path was routed to (``"openai"``, ``"anthropic"``,
    ``"gemini"``, ``"cohere"``) or ``None`` for an unknown path.
    """

    method: str
    path: str
    query: dict[str, str] = field(repr=False)
    headers: dict[str, str] = field(repr=False)  # may hold credentials: kept out of repr
    json: Any = field(repr=False)
    body: bytes = field(default=b"", repr=False)
    format: str | None = None
    model: str | None = None
    stream: bool = False
    auth: str | None = None
    received_at: float = 0.0
    response: ResponseLog = field(default_factory=ResponseLog)


ScriptItem: TypeAlias = Reply | Fault | Raw
"""A scripted answer."""

Responder: TypeAlias = Callable[[RecordedRequest], ScriptItem | Awaitable[ScriptItem]]
"""A callable that chooses the answer from the request."""

Scriptable: TypeAlias = ScriptItem | Responder
"""Anything :meth:`ProviderEmulator.enqueue` accepts."""


class Script:
    """FIFO queues (one general, one per wire format) plus defaults. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str | None, deque[Scriptable]] = {}
        self._defaults: dict[str | None, Scriptable] = {}

    def enqueue(self, item: Scriptable, fmt: str | None) -> None:
        with self._lock:
            self._queues.setdefault(fmt, deque()).append(item)

    def set_default(self, item: Scriptable | None, fmt: str | None) -> None:
        with self._lock:
            if item is None:
                self._defaults.pop(fmt, None)
            else:
                self._defaults[fmt] = item

    def pending(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._queues.values())

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
            self._defaults.clear()

    def next(self, fmt: str) -> Scriptable | None:
        with self._lock:
            for key in (fmt, None):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
            return self.default(fmt)

    def default(self, fmt: str) -> Scriptable | None:
        return self._defaults.get(fmt, self._defaults.get(None))
