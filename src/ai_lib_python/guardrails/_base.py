"""What every guard shares: actions, findings, the whole-text check and the stream scanner."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal, Protocol

from ai_lib_python.errors import ConfigurationError

Action = Literal["block", "redact", "warn"]
ACTIONS: tuple[Action, ...] = ("block", "redact", "warn")


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a guard found. ``start``/``end`` are offsets in the text the guard saw
    (for a stream: since its start); the matched text itself is never kept."""

    rule: str
    kind: str
    action: Action
    start: int | None = None
    end: int | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The text after a guard (changed only by ``redact``) and what it found."""

    text: str
    findings: tuple[Finding, ...] = ()


class Scanner(Protocol):
    """Per-stream state of one guard: text in, guarded text out, in pieces.

    ``feed`` returns what can be released now (possibly ``""``: a tail that might
    still become a match is held back); ``finish`` releases the rest. For every
    way of cutting a text into pieces, the released pieces join to the text
    :meth:`Guard.check` gives for the whole.
    """

    def feed(self, text: str) -> tuple[str, list[Finding]]: ...

    def finish(self) -> tuple[str, list[Finding]]: ...


class Guard(ABC):
    """A rule with an action: ``block`` (raise GuardrailViolation), ``redact`` (replace
    what it found) or ``warn`` (log it and record it in ``CallStats.extra``)."""

    name: str
    action: Action

    def __init__(self, name: str, action: Action) -> None:
        if action not in ACTIONS:
            raise ConfigurationError(f"guard action must be block, redact or warn, got {action!r}")
        if not name or not isinstance(name, str):
            raise ConfigurationError("a guard needs a non-empty name")
        self.name = name
        self.action = action

    @abstractmethod
    def check(self, text: str) -> Outcome:
        """Guard a whole text."""

    @abstractmethod
    def scanner(self) -> Scanner:
        """A fresh scanner for one stream."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, action={self.action!r})"


class WholeTextScanner:
    """For guards that need the whole text: ``redact`` holds everything back until the
    end; ``block`` and ``warn`` let the text through and judge it at the end."""

    __slots__ = ("_guard", "_hold", "_parts")

    def __init__(self, guard: Guard) -> None:
        self._guard = guard
        self._parts: list[str] = []
        self._hold = guard.action == "redact"

    def feed(self, text: str) -> tuple[str, list[Finding]]:
        self._parts.append(text)
        return ("", []) if self._hold else (text, [])

    def finish(self) -> tuple[str, list[Finding]]:
        outcome = self._guard.check("".join(self._parts))
        self._parts = []
        return (outcome.text if self._hold else ""), list(outcome.findings)
