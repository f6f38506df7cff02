"""Byte-stream decoders: bytes in, JSON frames out, incrementally.

Each decoder's ``feed(chunk)`` returns the frames completed by that chunk, and
``close()`` returns whatever a well-formed stream still held. They keep only the
unfinished tail between calls, so the work is linear in the stream size.
"""

from __future__ import annotations

from typing import Any, Final

from ai_lib_python._json import loads
from ai_lib_python.errors import StreamDecodeError


class _Done:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DONE"


DONE: Final = _Done()
"""Yielded once when the stream's done signal (e.g. ``[DONE]``) arrives."""


class FrameDecoder:
    """Cuts streamed bytes into frames; ``close()`` flushes the rest.

    ``split(chunk)`` only cuts: it returns the raw items completed by ``chunk``
    (payload bytes, or ``DONE``), and ``frame(item)`` parses one of them. A stream
    consumer parses each item just before it maps it, so a network read holding
    hundreds of frames never has hundreds of parsed dicts alive at once.
    ``feed(chunk)`` and ``close()`` are both steps at once.
    """

    __slots__ = ()

    def split(self, chunk: bytes) -> list[Any]:
        raise NotImplementedError

    def split_rest(self) -> list[Any]:
        """What a well-formed stream still held at its end, cut like :meth:`split`."""
        raise NotImplementedError

    @staticmethod
    def frame(item: Any) -> Any:
        return _parse(item)

    def feed(self, chunk: bytes) -> list[Any]:
        frame = self.frame
        return [frame(item) for item in self.split(chunk)]

    def close(self) -> list[Any]:
        frame = self.frame
        return [frame(item) for item in self.split_rest()]


class _ErrorEvent:
    """The payload of an SSE ``event: error``: its frame is wrapped as an error."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def _parse(data: bytes) -> Any:
    try:
        return loads(data)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        preview = data[:120].decode("utf-8", "replace")
        raise StreamDecodeError(f"malformed stream frame ({exc}): {preview!r}") from None


class SseDecoder(FrameDecoder):
    """Server-sent events: ``data:`` lines (joined), ``event:`` names, comments,
    keep-alives, LF or CRLF line ends. A frame is dispatched at each blank line.

    The common event, a single ``data:`` line, takes a fast path: one split of the
    buffer into events and one slice per event.
    """

    __slots__ = ("_buf", "_done")

    def __init__(self, *, done_signal: str | None = "[DONE]") -> None:
        self._buf = b""
        self._done = done_signal.encode() if done_signal else None

    def split(self, chunk: bytes) -> list[Any]:
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            if buf.endswith(b"\r"):  # a CRLF may be split across chunks
                self._buf = b"\r"
                buf = buf[:-1]
            else:
                self._buf = b""
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if self._buf:
                events = buf.split(b"\n\n")
                self._buf = events.pop() + self._buf
                return self._events(events)
        events = buf.split(b"\n\n")
        self._buf = events.pop()
        return self._events(events)

    def _events(self, events: list[bytes]) -> list[Any]:
        out: list[Any] = []
        done = self._done
        for ev in events:
            event: bytes | None = None
            if ev[:6] == b"data: " and b"\n" not in ev:
                data = ev[6:]
            elif ev[:7] == b"event: " and ev.count(b"\n") == 1 and b"\ndata: " in ev:
                # "event: name\ndata: {...}" (Anthropic, Groq errors): also one split.
                head, data = ev.split(b"\ndata: ", 1)
                event = head[7:].strip()
            else:
                slow, event = self._slow(ev)
                if slow is None:
                    continue
                data = slow
            if done is not None and data == done:
                out.append(DONE)
            elif event == b"error":
                out.append(_ErrorEvent(data))
            else:
                out.append(data)
        return out

    @staticmethod
    def frame(item: Any) -> Any:
        """Parse one item of :meth:`split`."""
        if type(item) is bytes:
            return _parse(item)
        if item is DONE:
            return item
        if type(item) is _ErrorEvent:
            frame = _parse(item.data)
            if isinstance(frame, dict) and "error" not in frame:
                frame = {"type": "error", "error": frame}
            return frame
        return _parse(bytes(item))  # a bytearray or memoryview chunk

    @staticmethod
    def _slow(ev: bytes) -> tuple[bytes | None, bytes | None]:
        data: list[bytes] = []
        event = None
        for line in ev.split(b"\n"):
            if not line or line[0] == 58:  # blank (leading newlines) or ":" comment
                continue
            if line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
            elif line.startswith(b"event:"):
                event = line[6:].strip()
            # id:, retry: and unknown fields are ignored, as the SSE spec says.
        if not data:
            return None, event
        joined = data[0] if len(data) == 1 else b"\n".join(data)
        if not joined.strip():
            return None, event
        return joined.strip() if joined.strip() == b"[DONE]" else joined, event

    def split_rest(self) -> list[Any]:
        rest, self._buf = self._buf, b""
        rest = rest.replace(b"\r\n", b"\n").replace(b"\r", b"\n").strip(b"\n")
        if not rest:
            return []
        # A last event without its blank line: accept it when it is complete.
        return self._events([rest])


class JsonLinesDecoder(FrameDecoder):
    """Newline-delimited JSON (one frame per line)."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def split(self, chunk: bytes) -> list[Any]:
        buf = self._buf + chunk if self._buf else chunk
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        return [line for line in lines if line.strip()]

    def split_rest(self) -> list[Any]:
        rest, self._buf = self._buf, b""
        return [rest] if rest.strip() else []


class JsonArrayDecoder(FrameDecoder):
    """A JSON array streamed element by element (Gemini without ``alt=sse``)."""

    __slots__ = ("_buf", "_closed", "_decoder", "_started", "_utf8")

    def __init__(self) -> None:
        import codecs
        import json

        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._decoder = json.JSONDecoder()
        self._buf = ""
        self._started = False
        self._closed = False

    @staticmethod
    def frame(item: Any) -> Any:
        return item  # parsed by split: finding an element's end means parsing it

    def split(self, chunk: bytes) -> list[Any]:
        try:
            self._buf += self._utf8.decode(chunk)
        except UnicodeDecodeError as exc:
            raise StreamDecodeError(f"invalid UTF-8 in stream: {exc}") from None
        out: list[Any] = []
        buf = self._buf
        pos = 0
        n = len(buf)
        while True:
            while pos < n and buf[pos] in " \t\r\n,":
                pos += 1
            if pos >= n:
                break
            ch = buf[pos]
            if not self._started:
                if ch != "[":
                    raise StreamDecodeError(f"expected a JSON array, found {ch!r}")
                self._started = True
                pos += 1
                continue
            if ch == "]":
                self._closed = True
                pos += 1
                continue
            try:
                value, end = self._decoder.raw_decode(buf, pos)
            except ValueError:
                break  # incomplete element: wait for more bytes
            out.append(value)
            pos = end
        self._buf = buf[pos:]
        return out

    def split_rest(self) -> list[Any]:
        if self._buf.strip():
            raise StreamDecodeError("stream ended inside a JSON array element")
        return []


def make_decoder(fmt: str | None, *, done_signal: str | None) -> FrameDecoder:
    """Pick the decoder for a manifest's ``streaming.decoder.format``."""
    fmt = (fmt or "sse").lower()
    if fmt in ("json_lines", "jsonl", "ndjson", "cohere_native"):
        return JsonLinesDecoder()
    if fmt in ("json_array", "gemini_json"):
        return JsonArrayDecoder()
    return SseDecoder(done_signal=done_signal)
