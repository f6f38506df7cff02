"""Guards that find spans with a regular expression: regex, keywords (and PII, elsewhere).

Streams are guarded exactly as whole texts are. A scanner keeps the text not yet
released; on each piece it runs the pattern over it and releases everything
before the first position where a match could still start or still change once
more text arrives. That position is never further back than the pattern's
*window* (its longest match plus the assertions around it); guards that know the
characters a match can consist of (PII kinds) narrow it to the trailing run of
such characters, so ordinary prose flows with almost no delay. A few characters
of released text are kept as context for lookbehind assertions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ai_lib_python.errors import ConfigurationError
from ai_lib_python.guardrails._base import (
    Action,
    Finding,
    Guard,
    Outcome,
    Scanner,
    WholeTextScanner,
)

_UNBOUNDED = 1 << 20


def pattern_reach(pattern: re.Pattern[str]) -> tuple[int, int, int] | None:
    """``(shortest match, window, lookbehind)`` of a pattern, or None when unbounded.

    ``window`` bounds how far past the start of a match the engine may read (the
    longest match plus lookahead and boundary assertions); ``lookbehind`` how far
    before it.
    """
    try:
        import re._parser as sre  # type: ignore[import-not-found]  # Python >= 3.11
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_parse as sre
    try:
        parsed = sre.parse(pattern.pattern, pattern.flags)
        lo, hi = parsed.getwidth()
    except Exception:  # pragma: no cover - the parser's internals changed
        return None
    ahead = behind = 0

    def walk(items: Any) -> bool:
        nonlocal ahead, behind
        for op, av in items:
            name = getattr(op, "name", str(op))
            if name in ("ASSERT", "ASSERT_NOT"):
                direction, sub = av
                width = sub.getwidth()[1]
                if width >= _UNBOUNDED:
                    return False
                if direction == 1:
                    ahead += width
                else:
                    behind += width
                if not walk(sub):
                    return False
            elif name == "AT":
                ahead += 1
                behind += 1
            elif name == "BRANCH":
                if not all(walk(sub) for sub in av[1]):
                    return False
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                if not walk(av[2]):
                    return False
            elif name == "SUBPATTERN":
                if not walk(av[-1]):
                    return False
            elif name == "ATOMIC_GROUP":
                if not walk(av):
                    return False
            elif name == "GROUPREF_EXISTS" and (
                    not walk(av[1]) or (av[2] is not None and not walk(av[2]))):
                return False
        return True

    if hi >= _UNBOUNDED or not walk(parsed):
        return None
    return int(lo), int(hi) + ahead + 1, behind + 1


class SpanGuard(Guard):
    """A guard that finds spans with one compiled pattern.

    Subclasses may filter matches (``kind_of`` returning None keeps the text) and
    name what a match is. ``tails`` lists, per kind of match, the characters such a
    match consists of and its window; it lets streams release text sooner.
    """

    def __init__(self, name: str, action: Action, pattern: re.Pattern[str], *,
                 replacement: str = "[REDACTED]", window: int | None = None,
                 tails: Sequence[tuple[str, int]] = (), kind: str = "match") -> None:
        super().__init__(name, action)
        reach = pattern_reach(pattern)
        if reach is not None and reach[0] == 0:
            raise ConfigurationError(f"guard {name!r}: the pattern can match an empty string")
        if window is None:
            if reach is None:
                raise ConfigurationError(
                    f"guard {name!r}: the pattern has no bounded match length",
                    hint="bound its repetitions ({1,64} instead of +) or pass window=N, "
                         "N >= the longest match plus its lookahead")
            window = reach[1]
        self.pattern = pattern
        self.replacement = replacement
        self.window = max(1, int(window))
        self.lookbehind = reach[2] if reach is not None else 1
        self.tails = tuple((chars, max(1, int(w))) for chars, w in tails)
        self.kind = kind

    def kind_of(self, match: re.Match[str]) -> str | None:
        """What ``match`` is, or None to leave it alone."""
        return match.lastgroup or self.kind

    def replacement_for(self, kind: str) -> str:
        return self.replacement.replace("{kind}", kind)

    def check(self, text: str) -> Outcome:
        out: list[str] = []
        findings: list[Finding] = []
        pos = 0
        for m in self.pattern.finditer(text):
            kind = self.kind_of(m)
            if kind is None:
                continue
            findings.append(Finding(self.name, kind, self.action, m.start(), m.end()))
            if self.action == "redact":
                out.append(text[pos:m.start()])
                out.append(self.replacement_for(kind))
                pos = m.end()
        if not findings:
            return Outcome(text)
        out.append(text[pos:])
        return Outcome("".join(out), tuple(findings))

    def hold_start(self, buf: str) -> int:
        """The first position of ``buf`` (text not released yet) where a match could
        still start or change with more text."""
        n = len(buf)
        if not self.tails:
            return max(0, n - self.window)
        hold = n
        for chars, window in self.tails:
            seg = buf[-window:]
            run = len(seg) - len(seg.rstrip(chars))
            hold = min(hold, n - run)
        return hold

    def scanner(self) -> SpanScanner:
        return SpanScanner(self)


class SpanScanner:
    """The per-stream state of a :class:`SpanGuard`."""

    __slots__ = ("_base", "_buf", "_ctx", "_guard", "_pass")

    def __init__(self, guard: SpanGuard) -> None:
        self._guard = guard
        self._buf = ""
        self._ctx = ""  # released text kept for lookbehind
        self._base = 0  # offset of _buf in the stream
        self._pass = guard.action == "warn"  # text goes out as it comes

    def feed(self, text: str) -> tuple[str, list[Finding]]:
        if not text:
            return "", []
        self._buf += text
        out, findings = self._scan(final=False)
        return (text if self._pass else out), findings

    def finish(self) -> tuple[str, list[Finding]]:
        out, findings = self._scan(final=True)
        return ("" if self._pass else out), findings

    def _scan(self, *, final: bool) -> tuple[str, list[Finding]]:
        guard, buf = self._guard, self._buf
        ctx = self._ctx
        off = len(ctx)
        hold = len(buf) if final else guard.hold_start(buf)
        redact = guard.action == "redact"
        out: list[str] = []
        findings: list[Finding] = []
        pos = 0  # released up to here
        end = 0  # matched up to here
        if hold > 0:
            for m in guard.pattern.finditer(ctx + buf, off):
                i = m.start() - off
                if i >= hold:
                    break
                end = m.end() - off
                kind = guard.kind_of(m)
                if kind is None:
                    continue
                findings.append(Finding(guard.name, kind, guard.action,
                                        self._base + i, self._base + end))
                if redact:
                    out.append(buf[pos:i])
                    out.append(guard.replacement_for(kind))
                    pos = end
        release = max(hold, end)
        out.append(buf[pos:release])
        if release:
            keep = guard.lookbehind
            self._ctx = (ctx + buf[:release])[-keep:]
            self._buf = buf[release:]
            self._base += release
        return "".join(out), findings


class RegexGuard(SpanGuard):
    """Finds a regular expression. ``window`` is needed when the pattern's longest
    match is unbounded (``+``, ``*``): give the longest match you want caught."""

    def __init__(self, pattern: str | re.Pattern[str], *, name: str = "regex",
                 action: Action = "block", flags: int = 0, replacement: str = "[REDACTED]",
                 window: int | None = None, kind: str = "match") -> None:
        compiled = re.compile(pattern, flags) if isinstance(pattern, str) else pattern
        super().__init__(name, action, compiled, replacement=replacement, window=window,
                         kind=kind)

    def kind_of(self, match: re.Match[str]) -> str | None:
        return self.kind


class KeywordGuard(SpanGuard):
    """Finds words or phrases (case-insensitive, whole words by default)."""

    def __init__(self, keywords: Iterable[str], *, name: str = "keywords",
                 action: Action = "block", case_sensitive: bool = False,
                 whole_words: bool = True, replacement: str = "[REDACTED]") -> None:
        words = sorted({k for k in keywords if k}, key=len, reverse=True)
        if not words:
            raise ConfigurationError(f"guard {name!r} needs at least one keyword")
        body = "|".join(re.escape(w) for w in words)
        source = rf"(?<!\w)(?:{body})(?!\w)" if whole_words else f"(?:{body})"
        flags = 0 if case_sensitive else re.IGNORECASE
        super().__init__(name, action, re.compile(source, flags), replacement=replacement,
                         window=len(words[0]) + 2, kind="keyword")
        self.keywords = tuple(words)

    def kind_of(self, match: re.Match[str]) -> str | None:
        return "keyword"


class CustomGuard(Guard):
    """A guard from a function of the text. It returns ``True`` or ``None`` to accept,
    ``False`` to flag the text, or a string: the text to use instead (a redaction;
    flagged if it differs). On a stream it judges the whole text at the end."""

    def __init__(self, check: Callable[[str], bool | str | None], *, name: str | None = None,
                 action: Action = "block", replacement: str = "[REDACTED]",
                 kind: str = "custom") -> None:
        super().__init__(name or getattr(check, "__name__", "") or "custom", action)
        self._fn = check
        self.replacement = replacement
        self.kind = kind

    def check(self, text: str) -> Outcome:
        result = self._fn(text)
        if result is None or result is True:
            return Outcome(text)
        if isinstance(result, str):
            if result == text:
                return Outcome(text)
            replaced = result
        elif result is False:
            replaced = self.replacement
        else:
            raise ConfigurationError(
                f"guard {self.name!r} returned {type(result).__name__}; "
                "expected bool, str or None")
        finding = Finding(self.name, self.kind, self.action, 0, len(text))
        return Outcome(replaced if self.action == "redact" else text, (finding,))

    def scanner(self) -> Scanner:
        return WholeTextScanner(self)
