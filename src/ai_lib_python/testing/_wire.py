"""Pieces shared by the emulated wire formats.

Each wire format (OpenAI chat completions, Anthropic messages, Gemini generateContent,
Cohere v2 chat) is a :class:`WireFormat`: it reads a request into an :class:`Exchange`,
renders a :class:`Reply` as a JSON body or a :class:`StreamBody` of pre-encoded frames,
and renders errors in the provider's own shape.
"""

from __future__ import annotations

import base64
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from ai_lib_python.testing._script import RecordedRequest, Reply, ToolCallReply

T = TypeVar("T")

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_pretty = json.JSONEncoder(ensure_ascii=False, indent=2)
_SLOT = "\x00slot\x00"
_SLOT_JSON = _encoder.encode(_SLOT).encode()

NEUTRAL_FINISH = ("stop", "length", "tool_calls", "stop_sequence", "content_filter")

# Error kinds accepted by Fault.stream_error, and the HTTP status each one stands for.
KIND_STATUS: dict[str, int] = {
    "invalid_request": 400,
    "authentication": 401,
    "permission": 403,
    "not_found": 404,
    "request_too_large": 413,
    "rate_limit": 429,
    "server_error": 500,
    "overloaded": 503,
}


def dumps(obj: Any, *, pretty: bool = False) -> bytes:
    """JSON in UTF-8 with non-ASCII characters kept: compact, or indented by two."""
    return (_pretty if pretty else _encoder).encode(obj).encode()


def jstr(text: str) -> bytes:
    """``text`` as a JSON string literal."""
    return _encoder.encode(text).encode()


def template(
    obj: Any, before: bytes = b"", after: bytes = b"", *, pretty: bool = False
) -> tuple[bytes, bytes]:
    """Split the encoding of ``obj`` around the one ``SLOT`` value it contains.

    ``prefix + jstr(value) + suffix`` then encodes ``obj`` with ``value`` in the slot,
    without re-encoding the rest of the object for every frame.
    """
    encoded = dumps(obj, pretty=pretty)
    prefix, sep, suffix = encoded.partition(_SLOT_JSON)
    if not sep:  # pragma: no cover - programming error
        raise ValueError("template object has no slot")
    return before + prefix, suffix + after


SLOT = _SLOT


def split(text: str | Sequence[str], size: int) -> list[str]:
    """Delta pieces: a sequence is taken as given, a string is cut every ``size`` chars."""
    if not isinstance(text, str):
        return [piece for piece in text if piece]
    return [text[i : i + size] for i in range(0, len(text), size)]


def estimate_tokens(chars: int) -> int:
    """A deterministic token estimate: about four characters per token."""
    return 0 if chars <= 0 else max(1, (chars + 3) // 4)


def arguments_json(call: ToolCallReply) -> str:
    """The arguments of ``call`` as the JSON text the model would emit."""
    if isinstance(call.arguments, str):
        return call.arguments
    return _encoder.encode(dict(call.arguments))


def arguments_object(call: ToolCallReply) -> dict[str, Any]:
    """The arguments of ``call`` as an object (unparseable text gives ``{}``)."""
    if not isinstance(call.arguments, str):
        return dict(call.arguments)
    try:
        value = json.loads(call.arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def signature_for(reply: Reply) -> str:
    """The reply's thinking signature, or a deterministic one derived from its text."""
    if reply.signature is not None:
        return reply.signature
    digest = hashlib.sha256(("emulator:" + reply.full_thinking).encode()).digest()
    return base64.b64encode(digest * 3).decode()


def text_of(content: Any, text_types: tuple[str, ...] = ("text",)) -> str:
    """Text of a message ``content``: a string, or a list of typed parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out: list[str] = []
        for part in content:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict) and part.get("type", "text") in text_types:
                value = part.get("text")
                if isinstance(value, str):
                    out.append(value)
        return "".join(out)
    return ""


def body_dict(request: RecordedRequest) -> dict[str, Any]:
    """The request's JSON body if it is an object, else an empty dict."""
    return request.json if isinstance(request.json, dict) else {}


@dataclass(frozen=True)
class Exchange:
    """What the emulator understood of one request, in provider-neutral terms."""

    format: str
    model: str
    stream: bool
    user_text: str
    prompt_chars: int
    seq: int
    created: int
    choices: int = 1
    include_usage: bool = False
    wants_thinking: bool = False
    stop_sequences: tuple[str, ...] = ()
    sse: bool = True


@dataclass(frozen=True)
class ErrorSpec:
    """An error to render: HTTP status, message, optional provider type and code."""

    status: int
    message: str
    error_type: str | None = None
    code: str | None = None
    details: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Tokens:
    """Token counts of one reply."""

    input: int
    output: int
    visible: int
    reasoning: int
    cached: int


def count_tokens(reply: Reply, ex: Exchange, texts: Sequence[str]) -> Tokens:
    """Usage of ``reply``: explicit ``usage`` or an estimate from the text lengths.

    ``output`` includes reasoning tokens (OpenAI, Anthropic, Cohere); ``visible``
    excludes them (Gemini ``candidatesTokenCount``). With explicit usage both equal the
    given output count.
    """
    reasoning = (
        reply.reasoning_tokens
        if reply.reasoning_tokens is not None
        else estimate_tokens(len(reply.full_thinking))
    )
    if reply.usage is not None:
        return Tokens(
            reply.usage[0], reply.usage[1], reply.usage[1], reasoning, reply.cached_tokens
        )
    chars = sum(len(t) for t in texts) + sum(len(arguments_json(c)) for c in reply.tool_calls)
    visible = estimate_tokens(chars) or 1
    return Tokens(
        estimate_tokens(ex.prompt_chars) or 1,
        visible + reasoning,
        visible,
        reasoning,
        reply.cached_tokens,
    )


def candidate_texts(reply: Reply, ex: Exchange) -> list[str | Sequence[str]]:
    """The text of every choice: ``candidates``, or ``text`` once per requested choice."""
    if reply.candidates:
        return list(reply.candidates)
    return [reply.text] * max(1, ex.choices)


def round_robin(lists: Sequence[Sequence[T]]) -> list[T]:
    """Interleave ``lists``: first items of each, then second items, and so on."""
    if len(lists) == 1:
        return list(lists[0])
    out: list[T] = []
    longest = max((len(items) for items in lists), default=0)
    for i in range(longest):
        out.extend(items[i] for items in lists if i < len(items))
    return out


@dataclass
class StreamBody:
    """A streamed reply as pre-encoded frames.

    ``items`` are the frames, each a whole SSE event (or one element of a JSON-array
    stream when ``array`` is true: the writer adds ``[``, the separators and ``]``).
    ``text_item`` builds an extra text-delta frame around a raw JSON string literal;
    ``error_item`` an in-stream error frame. The last ``terminal_items`` frames are the
    stream's terminator (``[DONE]``, ``message_stop``), which an injected error precedes.
    """

    items: list[bytes]
    content_type: str
    text_item: Callable[[bytes], bytes]
    error_item: Callable[[ErrorSpec], bytes]
    terminal_items: int = 0
    array: bool = False


class WireFormat(ABC):
    """One provider wire format."""

    name: ClassVar[str]
    request_id_header: ClassVar[str] = "x-request-id"
    json_content_type: ClassVar[str] = "application/json"
    overloaded_status: ClassVar[int] = 503

    @abstractmethod
    def exchange(self, request: RecordedRequest, seq: int, created: int) -> Exchange:
        """Read the request."""

    @abstractmethod
    def body(self, reply: Reply, ex: Exchange) -> bytes:
        """A non-streamed success body."""

    @abstractmethod
    def stream(self, reply: Reply, ex: Exchange) -> StreamBody:
        """A streamed success body."""

    @abstractmethod
    def error_body(self, err: ErrorSpec, request_id: str) -> bytes:
        """An HTTP error body."""

    @abstractmethod
    def error_spec(self, status: int, ex: Exchange | None) -> ErrorSpec:
        """The provider's usual error for ``status``."""

    @abstractmethod
    def finish_word(self, neutral: str) -> str:
        """The provider's word for a neutral finish reason."""

    def auth(self, request: RecordedRequest) -> tuple[str | None, str | None]:
        """The credential form and key carried by the request."""
        value = request.headers.get("authorization", "")
        if value[:7].lower() == "bearer ":
            return "bearer", value[7:].strip()
        return None, None

    def auth_error(self, missing: bool) -> ErrorSpec:
        """The provider's answer to a missing or wrong key."""
        spec = self.error_spec(401, None)
        if missing:
            return ErrorSpec(401, "No API key was provided.", spec.error_type, None)
        return spec

    def finish_reason(self, reply: Reply) -> str:
        """The finish reason of ``reply`` in the provider's words."""
        neutral = reply.finish_reason
        if neutral is None:
            neutral = "tool_calls" if reply.tool_calls else "stop"
        if neutral in NEUTRAL_FINISH:
            return self.finish_word(neutral)
        return neutral

    def kind_spec(
        self,
        kind: str,
        message: str | None,
        error_type: str | None,
        ex: Exchange | None,
    ) -> ErrorSpec:
        """The error for an in-stream error ``kind`` (see :data:`KIND_STATUS`)."""
        status = KIND_STATUS.get(kind, 500)
        if kind == "overloaded":
            status = self.overloaded_status
        base = self.error_spec(status, ex)
        return ErrorSpec(status, message or base.message, error_type or base.error_type, base.code)


def scan_messages(messages: Any) -> tuple[str, int]:
    """The last user text of a chat-style ``messages`` list, and the characters of all."""
    user_text = ""
    prompt_chars = 0
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        text = text_of(message.get("content"))
        prompt_chars += len(text)
        if message.get("role") == "user":
            user_text = text
    return user_text, prompt_chars
