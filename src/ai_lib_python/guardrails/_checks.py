"""Guards on the text as a whole: length limits and JSON Schema validation."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import fastjsonschema

from ai_lib_python.errors import ConfigurationError
from ai_lib_python.guardrails._base import (
    Action,
    Finding,
    Guard,
    Outcome,
    Scanner,
    WholeTextScanner,
)


class LengthGuard(Guard):
    """At most ``max_chars`` characters per text. ``redact`` truncates; on a stream it
    releases text up to the limit and drops the rest."""

    def __init__(self, max_chars: int, *, name: str = "length", action: Action = "block") -> None:
        super().__init__(name, action)
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 0:
            raise ConfigurationError(f"max_chars must be a non-negative integer, got {max_chars!r}")
        self.max_chars = max_chars

    def _finding(self, length: int) -> Finding:
        return Finding(self.name, "length", self.action, self.max_chars, length,
                       f"longer than {self.max_chars} characters")

    def check(self, text: str) -> Outcome:
        if len(text) <= self.max_chars:
            return Outcome(text)
        finding = self._finding(len(text))
        return Outcome(text[:self.max_chars] if self.action == "redact" else text, (finding,))

    def scanner(self) -> Scanner:
        return _LengthScanner(self)


class _LengthScanner:
    __slots__ = ("_flagged", "_guard", "_seen")

    def __init__(self, guard: LengthGuard) -> None:
        self._guard = guard
        self._seen = 0
        self._flagged = False

    def feed(self, text: str) -> tuple[str, list[Finding]]:
        guard = self._guard
        before = self._seen
        self._seen += len(text)
        if self._seen <= guard.max_chars:
            return text, []
        findings = []
        if not self._flagged:
            self._flagged = True
            findings.append(guard._finding(self._seen))
        if guard.action == "warn":
            return text, findings
        return text[:max(0, guard.max_chars - before)], findings

    def finish(self) -> tuple[str, list[Finding]]:
        return "", []


class JsonSchemaGuard(Guard):
    """The text must be JSON valid against ``schema`` (compiled once, with
    fastjsonschema). ``block`` or ``warn`` only; on a stream it judges the whole
    text at the end."""

    def __init__(self, schema: Mapping[str, Any], *, name: str = "json_schema",
                 action: Action = "block") -> None:
        super().__init__(name, action)
        if action == "redact":
            raise ConfigurationError(f"guard {name!r}: a JSON Schema guard cannot redact",
                                     hint="use action='block' or 'warn'")
        try:
            self._validate: Callable[[Any], Any] = fastjsonschema.compile(dict(schema))
        except fastjsonschema.JsonSchemaDefinitionException as exc:
            raise ConfigurationError(f"guard {name!r}: invalid JSON Schema: {exc}") from exc
        self.schema = dict(schema)

    def check(self, text: str) -> Outcome:
        try:
            data = json.loads(text)
        except ValueError as exc:
            return Outcome(text, (Finding(self.name, "json", self.action,
                                          detail=f"not JSON: {exc.args[0] if exc.args else exc}"),))
        try:
            self._validate(data)
        except fastjsonschema.JsonSchemaValueException as exc:
            return Outcome(text, (Finding(self.name, "schema", self.action,
                                          detail=str(exc.message)),))
        return Outcome(text)

    def scanner(self) -> Scanner:
        return WholeTextScanner(self)
