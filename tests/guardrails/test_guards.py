"""Guards on whole texts: PII, keywords, regular expressions, length, JSON Schema, custom."""

from __future__ import annotations

import re

import pytest

from ai_lib_python import ConfigurationError
from ai_lib_python.guardrails import (
    CustomGuard,
    JsonSchemaGuard,
    KeywordGuard,
    LengthGuard,
    PiiGuard,
    RegexGuard,
    luhn_valid,
)
from ai_lib_python.guardrails._span import pattern_reach


@pytest.mark.parametrize(("text", "kind"), [
    ("mail jane.doe+news@mail.example.co.uk now", "email"),
    ("call +1 415 555 0132 today", "phone"),
    ("call (415) 555-0132 today", "phone"),
    ("call 415-555-0132 today", "phone"),
    ("card 4111 1111 1111 1111 ok", "card"),
    ("card 5500-0000-0000-0004 ok", "card"),
    ("key sk-proj-abcdefghijklmnopqrstuvwxyz0123 here", "api_key"),
    ("aws AKIAIOSFODNN7EXAMPLE here", "api_key"),
    ("gh ghp_" + "a1B2" * 9 + " here", "api_key"),
    ("google AIza" + "x" * 35 + " here", "api_key"),
])
def test_pii_kinds_are_redacted(text: str, kind: str) -> None:
    outcome = PiiGuard().check(text)
    assert [f.kind for f in outcome.findings] == [kind]
    assert f"[REDACTED:{kind}]" in outcome.text
    assert outcome.text.split(" ")[0] == text.split(" ")[0]
    assert outcome.text.endswith(text.split(" ")[-1])


@pytest.mark.parametrize("text", [
    "card 4111 1111 1111 1112 fails Luhn",
    "a date 2024-01-15 and a time 12:30",
    "version 1.2.3 and ip 192.168.100.200",
    "the task-force-report-was-long is not a key",
    "an order number 1234567",
    "no at sign: jane.doe.example.com",
])
def test_pii_leaves_ordinary_text_alone(text: str) -> None:
    assert PiiGuard().check(text).findings == ()


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112")


def test_pii_kind_selection_and_errors() -> None:
    guard = PiiGuard(["email"], replacement="<{kind}>")
    assert guard.check("a@bc.com 4111 1111 1111 1111").text == "<email> 4111 1111 1111 1111"
    with pytest.raises(ConfigurationError, match="unknown PII kinds"):
        PiiGuard(["ssn"])


def test_keywords() -> None:
    guard = KeywordGuard(["secret", "top secret"], action="redact")
    out = guard.check("A Top Secret and SECRET, not secretive")
    assert out.text == "A [REDACTED] and [REDACTED], not secretive"
    assert KeywordGuard(["x-1"], whole_words=False).check("ax-1b").findings
    assert not KeywordGuard(["Secret"], case_sensitive=True).check("secret").findings
    with pytest.raises(ConfigurationError):
        KeywordGuard([])


def test_regex_window_and_validation() -> None:
    guard = RegexGuard(r"\bproj-\d{3}\b", action="redact")
    assert guard.check("see proj-123, not proj-1234").text == "see [REDACTED], not proj-1234"
    assert pattern_reach(re.compile(r"(?<=ab)c\d{2}(?=xyz)")) == (3, 3 + 3 + 1, 2 + 1)
    with pytest.raises(ConfigurationError, match="no bounded match length"):
        RegexGuard(r"secret\w+")
    assert RegexGuard(r"secret\w+", window=64).window == 64
    with pytest.raises(ConfigurationError, match="empty string"):
        RegexGuard(r"a?")
    with pytest.raises(ConfigurationError, match="block, redact or warn"):
        RegexGuard("x", action="drop")  # type: ignore[arg-type]


def test_length() -> None:
    assert LengthGuard(5, action="redact").check("abcdefgh").text == "abcde"
    finding = LengthGuard(5).check("abcdefgh").findings[0]
    assert finding.kind == "length" and finding.end == 8
    assert LengthGuard(5).check("abcde").findings == ()
    with pytest.raises(ConfigurationError):
        LengthGuard(-1)


def test_json_schema_compiled_once() -> None:
    guard = JsonSchemaGuard({"type": "object", "required": ["ok"],
                             "properties": {"ok": {"type": "boolean"}}})
    assert guard.check('{"ok": true}').findings == ()
    assert guard.check('{"ok": 1}').findings[0].kind == "schema"
    assert guard.check("nope").findings[0].kind == "json"
    with pytest.raises(ConfigurationError, match="cannot redact"):
        JsonSchemaGuard({}, action="redact")
    with pytest.raises(ConfigurationError, match="invalid JSON Schema"):
        JsonSchemaGuard({"type": 12})


def test_custom() -> None:
    assert CustomGuard(lambda t: "bad" not in t).check("all good").findings == ()
    flagged = CustomGuard(lambda t: "bad" not in t, name="no-bad").check("bad")
    assert flagged.findings[0].rule == "no-bad" and flagged.text == "bad"
    redacted = CustomGuard(lambda t: t.replace("bad", "***"), action="redact").check("a bad b")
    assert redacted.text == "a *** b"
    with pytest.raises(ConfigurationError, match="expected bool"):
        CustomGuard(lambda t: 3).check("x")  # type: ignore[arg-type, return-value]
