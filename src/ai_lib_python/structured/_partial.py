"""PartialJson: an incremental, tolerant JSON parser for answers that are still arriving.

Feed it fragments; :meth:`PartialJson.value` returns the most complete value the
text so far allows. Work is linear in the input: every character is looked at
once (string runs in bulk), and a snapshot copies only the containers still open;
finished sub-objects are shared between snapshots, so treat snapshots as read-only.

What a snapshot holds: finished values; a string still being received (its text so
far); open objects and arrays. It leaves out a key whose value has not started, and
numbers and ``true``/``false``/``null`` until they are complete. Text before the
first ``{`` or ``[`` (prose, a code fence) and after the end of the value is skipped.
"""

from __future__ import annotations

import json
import re
from typing import Any

_STOP = re.compile(r'["\\]')
_SURROGATE = re.compile("[\ud800-\udfff]")
_WS = frozenset(" \t\r\n")
_SCALAR = frozenset("0123456789+-.eEtrufalsn")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
            "t": "\t"}
_NONE: Any = object()

# frame states
_KEY, _COLON, _VALUE, _COMMA = range(4)


class _Frame:
    __slots__ = ("container", "key", "slot", "state")

    def __init__(self, container: dict[str, Any] | list[Any], slot: Any, state: int) -> None:
        self.container = container
        self.key: str | None = None
        self.slot = slot  # where this container sits in its parent (key or index)
        self.state = state


def _text(parts: list[str], *, partial: bool = False) -> str:
    s = "".join(parts)
    if partial and s and "\ud800" <= s[-1] <= "\udbff":  # the pair's second half is to come
        s = s[:-1]
    if _SURROGATE.search(s):  # from \\uXXXX escapes of a pair
        s = s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return s


class PartialJson:
    """Parse one JSON value incrementally."""

    __slots__ = ("_changed", "_done", "_esc", "_is_key", "_root", "_scalar", "_stack",
                 "_started", "_str")

    def __init__(self, *, skip_prefix: bool = True) -> None:
        self._stack: list[_Frame] = []
        self._root: Any = _NONE
        self._str: list[str] | None = None
        self._is_key = False
        self._esc = ""
        self._scalar = ""
        self._done = False
        self._started = not skip_prefix
        self._changed = False

    @property
    def complete(self) -> bool:
        """Whether a whole JSON value has been read."""
        return self._done

    def feed(self, text: str) -> bool:
        """Consume ``text``; returns whether the snapshot may have changed."""
        self._changed = False
        i, n = 0, len(text)
        while i < n and not self._done:
            if self._str is not None:
                i = self._string(text, i)
                continue
            c = text[i]
            if not self._started:
                starts = [j for j in (text.find("{", i), text.find("[", i)) if j != -1]
                if not starts:
                    break
                i = min(starts)
                self._started = True
                continue
            if self._scalar:
                if c in _SCALAR:
                    self._scalar += c
                    i += 1
                    continue
                self._end_scalar()
                if self.complete:
                    break
            i += 1
            if c in _WS:
                continue
            if c == '"':
                self._str = []
                self._is_key = bool(self._stack) and self._stack[-1].state == _KEY
            elif c == "{" or c == "[":
                container: dict[str, Any] | list[Any] = {} if c == "{" else []
                slot = self._put(container)
                self._stack.append(_Frame(container, slot, _KEY if c == "{" else _VALUE))
            elif c == "}" or c == "]":
                if self._stack:
                    self._stack.pop()
                    self._changed = True
                    if not self._stack:
                        self._done = True
            elif c == ",":
                if self._stack:
                    frame = self._stack[-1]
                    frame.state = _KEY if isinstance(frame.container, dict) else _VALUE
            elif c == ":":
                if self._stack and self._stack[-1].key is not None:
                    self._stack[-1].state = _VALUE
            elif c in _SCALAR:
                self._scalar = c
            # anything else is not JSON: skipped
        return self._changed

    def finish(self) -> Any:
        """End of input: complete a trailing number or literal; return the value."""
        if self._scalar:
            self._end_scalar()
        return self.value()

    # -- internals ------------------------------------------------------------------
    def _string(self, text: str, i: int) -> int:
        parts = self._str
        assert parts is not None
        n = len(text)
        while i < n:
            if self._esc:
                self._esc += text[i]
                i += 1
                if self._esc[1] == "u":
                    if len(self._esc) < 6:
                        continue
                    try:
                        parts.append(chr(int(self._esc[2:], 16)))
                    except ValueError:
                        parts.append(self._esc)
                else:
                    parts.append(_ESCAPES.get(self._esc[1], self._esc[1]))
                self._esc = ""
                self._changed = self._changed or not self._is_key
                continue
            m = _STOP.search(text, i)
            j = n if m is None else m.start()
            if j > i:
                parts.append(text[i:j])
                if not self._is_key:
                    self._changed = True
            if m is None:
                return n
            if text[j] == "\\":
                self._esc = "\\"
                i = j + 1
                continue
            value = _text(parts)
            self._str = None
            if self._is_key:
                frame = self._stack[-1]
                frame.key = value
                frame.state = _COLON
            else:
                self._put(value)
            return j + 1
        return i

    def _end_scalar(self) -> None:
        raw, self._scalar = self._scalar, ""
        try:
            value = json.loads(raw)
        except ValueError:
            return
        self._put(value)

    def _put(self, value: Any) -> Any:
        """Attach a value where the parser is; returns its slot in the parent."""
        self._changed = True
        if not self._stack:
            if self._root is _NONE:
                self._root = value
                if not isinstance(value, (dict, list)):
                    self._done = True
            return None
        frame = self._stack[-1]
        target = frame.container
        if isinstance(target, dict):
            key = frame.key
            if key is None or frame.state != _VALUE:
                return None
            target[key] = value
            frame.key = None
            frame.state = _COMMA
            return key
        target.append(value)
        frame.state = _COMMA
        return len(target) - 1

    def _pending(self) -> Any:
        """The value being received that is not attached yet (a partial string)."""
        if self._str is None or self._is_key:
            return _NONE
        parts = self._str
        if len(parts) > 1:
            parts[:] = ["".join(parts)]
        return _text(parts, partial=True)

    def value(self) -> Any:
        """A snapshot of the value so far (``None`` before anything was read)."""
        pending = self._pending()
        if not self._stack:
            if self._root is not _NONE:
                return self._root
            return None if pending is _NONE else pending
        child: Any = _NONE
        child_slot: Any = None
        for frame in reversed(self._stack):
            container = frame.container
            copy: Any
            if isinstance(container, dict):
                copy = dict(container)
                if child is not _NONE:
                    copy[child_slot] = child
                elif pending is not _NONE and frame.key is not None and frame.state == _VALUE:
                    copy[frame.key] = pending
            else:
                copy = list(container)
                if child is not _NONE:
                    copy[child_slot] = child
                elif pending is not _NONE and frame.state == _VALUE:
                    copy.append(pending)
            child, child_slot = copy, frame.slot
        return child
