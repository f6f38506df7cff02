"""Byte-stream decoders: bytes in, JSON frames out, incrementally.

Each decoder's ``feed(chunk)`` returns the frames completed by that chunk, and
``close()`` returns whatever a well-formed stream still held. They keep only the
unfinished tail between calls, so the work is linear in the stream size.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from ai_lib_python._json import loads
from ai_lib_python.errors import StreamDecodeError


class _Done:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DONE"


DONE: Final = _Done()
"""Yielded once when the stream's done signal (e.g. ``[DONE]``) arrives."""


class FrameDecoder(Protocol):
    def feed(self, chunk: bytes) -> list[Any]: ...

    def close(self) -> list[Any]: ...


def _parse(data: bytes) -> Any:
    try:
        return loads(data)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        preview = data[:120].decode("utf-8", "replace")
        raise StreamDecodeError(f"malformed stream frame ({exc}): {preview!r}") from None


class SseDecoder:
    """Server-sent events: ``data:`` lines (joined), ``event:`` names, comments,
    keep-alives, LF or CRLF line ends. A frame is dispatched at each blank line."""

    __slots__ = ("_buf", "_data", "_done", "_event")

    def __init__(self, *, done_signal: str | None = "[DONE]") -> None:
        self._buf = b""
        self._data: list[bytes] = []
        self._event: bytes | None = None
        self._done = done_signal.encode() if done_signal else None

    def feed(self, chunk: bytes) -> list[Any]:
        buf = self._buf + chunk if self._buf else chunk
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        out: list[Any] = []
        data = self._data
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    self._dispatch(out)
                    data = self._data
                self._event = None
                continue
            first = line[0]
            if first == 100 and line.startswith(b"data:"):  # b"d"
                value = line[5:]
                if value.startswith(b" "):
                    value = value[1:]
                data.append(value)
            elif first == 58:  # b":" comment / keep-alive
                continue
            elif line.startswith(b"event:"):
                self._event = line[6:].strip()
            # id:, retry: and unknown fields are ignored, as the SSE spec says.
        return out

    def _dispatch(self, out: list[Any]) -> None:
        data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
        self._data = []
        if self._done is not None and data.strip() == self._done:
            out.append(DONE)
            return
        if not data.strip():
            return
        frame = _parse(data)
        if self._event == b"error" and isinstance(frame, dict) and "error" not in frame:
            frame = {"type": "error", "error": frame}
        out.append(frame)

    def close(self) -> list[Any]:
        out: list[Any] = []
        if self._buf.strip():
            # A last event without its blank line: accept it when it is complete JSON.
            line = self._buf.rstrip(b"\r")
            self._buf = b""
            if line.startswith(b"data:"):
                value = line[5:].lstrip(b" ")
                self._data.append(value)
        if self._data:
            self._dispatch(out)
        return out


class JsonLinesDecoder:
    """Newline-delimited JSON (one frame per line)."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[Any]:
        buf = self._buf + chunk if self._buf else chunk
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        return [_parse(line) for line in lines if line.strip()]

    def close(self) -> list[Any]:
        rest, self._buf = self._buf, b""
        return [_parse(rest)] if rest.strip() else []


class JsonArrayDecoder:
    """A JSON array streamed element by element (Gemini without ``alt=sse``)."""

    __slots__ = ("_buf", "_closed", "_decoder", "_started")

    def __init__(self) -> None:
        import json

        self._decoder = json.JSONDecoder()
        self._buf = ""
        self._started = False
        self._closed = False

    def feed(self, chunk: bytes) -> list[Any]:
        try:
            self._buf += chunk.decode("utf-8")
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

    def close(self) -> list[Any]:
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
