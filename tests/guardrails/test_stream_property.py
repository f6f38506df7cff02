"""Output guards on streams: for any split of a text into deltas, the released deltas
join to the whole text guarded at once, with the same findings, holding back no more
than a match could still need."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from ai_lib_python.guardrails import (
    Guard,
    Guardrails,
    KeywordGuard,
    LengthGuard,
    PiiGuard,
    RegexGuard,
)
from ai_lib_python.guardrails._layer import _StreamGuard
from ai_lib_python.types import CallStats

SAMPLES = [
    "a@bc.com", "jane.doe+x@mail.example.org", "x@y", "@@", "sk-", "4111 1111 1111 1111",
    "4111-1111-1111-1112", "+1 415 555 0132", "(415) 555-0132", "415-555-0132", "AKIA",
    "AKIAIOSFODNN7EXAMPLE", "sk-abcdefghijklmnopqrstuvwx12", "ghp_" + "Ab1" * 12, "secret",
    "Top Secret", "SECRETS", "proj-123", "proj-1234", "12345678901234567890", "...", " - ",
]
_text = st.lists(st.sampled_from(SAMPLES) | st.text(alphabet="ab1@.-+ ()\n_é", max_size=6),
                 max_size=14).map("".join)
_cuts = st.lists(st.integers(0, 400), max_size=20)

GUARDS: list[Guard] = [
    PiiGuard(),
    PiiGuard(action="warn"),
    PiiGuard(["card", "phone"], action="block"),
    KeywordGuard(["secret", "top secret"], action="redact"),
    RegexGuard(r"\bproj-\d{3}\b", action="redact"),
    LengthGuard(40, action="redact"),
]


def _pieces(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _stream(guard: Guard, pieces: list[str]) -> tuple[str, list[tuple[str, int | None]]]:
    scanner = guard.scanner()
    out, found = [], []
    for piece in pieces:
        text, findings = scanner.feed(piece)
        out.append(text)
        found += [(f.kind, f.start) for f in findings]
    text, findings = scanner.finish()
    out.append(text)
    found += [(f.kind, f.start) for f in findings]
    return "".join(out), found


@settings(max_examples=300, deadline=None)
@given(text=_text, cuts=_cuts)
def test_stream_equals_whole_text(text: str, cuts: list[int]) -> None:
    pieces = _pieces(text, cuts)
    for guard in GUARDS:
        whole = guard.check(text)
        streamed, found = _stream(guard, pieces)
        assert streamed == whole.text, guard
        assert found == [(f.kind, f.start) for f in whole.findings], guard


@settings(max_examples=150, deadline=None)
@given(text=_text, cuts=_cuts)
def test_a_chain_of_guards_on_a_stream(text: str, cuts: list[int]) -> None:
    guards = (PiiGuard(), KeywordGuard(["secret"], action="redact"),
              LengthGuard(60, action="redact"))
    state = _StreamGuard(guards, CallStats())
    released = [state.feed(0, piece) for piece in _pieces(text, cuts)]
    released.append(state.finish(0))
    assert "".join(released) == Guardrails(output=guards).guard_text(text)
    assert "".join(state.texts[0]) == "".join(released)


@settings(max_examples=200, deadline=None)
@given(text=_text, cuts=_cuts)
def test_only_a_possible_match_is_held_back(text: str, cuts: list[int]) -> None:
    guard = PiiGuard()
    scanner = guard.scanner()
    for piece in _pieces(text, cuts):
        scanner.feed(piece)
        held = scanner._buf
        assert len(held) <= max(window for _, window in guard.tails)
        # what is held is a run of characters some kind of match is made of
        assert any(held == "" or all(ch in chars for ch in held) for chars, _ in guard.tails)


def test_split_email_is_caught_and_prose_flows() -> None:
    scanner = PiiGuard().scanner()
    assert scanner.feed("Write to a@b")[0] == "Write to "
    assert scanner.feed("c.com, thanks")[0] == "[REDACTED:email], "
    assert scanner.finish()[0] == "thanks"
    scanner = KeywordGuard(["secret"], action="redact").scanner()
    assert scanner.feed("This is a long sentence without it")[0] == "This is a long sentence wi"
