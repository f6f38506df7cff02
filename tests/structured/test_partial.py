"""PartialJson: tolerant incremental parsing of answers still arriving."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ai_lib_python.structured import PartialJson, json_payload

_scalars = (st.none() | st.booleans() | st.integers(-10**12, 10**12)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)
_docs = st.dictionaries(st.text(max_size=6), _json, max_size=5)


def _pieces(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _within(snapshot: Any, final: Any) -> bool:
    """A snapshot never holds a key or an item the final value does not have."""
    if isinstance(snapshot, dict):
        return isinstance(final, dict) and all(
            k in final and _within(v, final[k]) for k, v in snapshot.items())
    if isinstance(snapshot, list):
        return isinstance(final, list) and len(snapshot) <= len(final) and all(
            _within(a, b) for a, b in zip(snapshot, final, strict=False))
    if isinstance(snapshot, str) and isinstance(final, str):
        return final.startswith(snapshot)
    return bool(snapshot == final)


@settings(max_examples=150, deadline=None)
@given(doc=_docs, cuts=st.lists(st.integers(0, 10_000), max_size=12),
       ascii_only=st.booleans(), indent=st.sampled_from([None, 2]))
def test_any_split_gives_the_document(doc: dict[str, Any], cuts: list[int], ascii_only: bool,
                                      indent: int | None) -> None:
    text = json.dumps(doc, ensure_ascii=ascii_only, indent=indent)
    parser = PartialJson()
    for piece in _pieces(text, cuts):
        if parser.feed(piece):
            assert _within(parser.value(), doc)
    assert parser.finish() == doc
    assert parser.complete


def test_snapshots_grow_and_leave_out_unfinished_scalars() -> None:
    parser = PartialJson()
    seen = []
    for piece in ['```json\n{"na', 'me": "Ad', 'a", "age": 3', '6, "tags": ["x', '", tr',
                  'ue], "ok": nu', 'll}\n```']:
        parser.feed(piece)
        seen.append(parser.value())
    assert seen == [
        {},
        {"name": "Ad"},
        {"name": "Ada"},                    # 36 not finished
        {"name": "Ada", "age": 36, "tags": ["x"]},
        {"name": "Ada", "age": 36, "tags": ["x"]},
        {"name": "Ada", "age": 36, "tags": ["x", True]},
        {"name": "Ada", "age": 36, "tags": ["x", True], "ok": None},
    ]
    assert parser.complete


def test_escapes_split_anywhere() -> None:
    text = json.dumps({"s": 'a"b\\c\n\u00e9\U0001F600'}, ensure_ascii=True)
    for size in range(1, 8):
        parser = PartialJson()
        for i in range(0, len(text), size):
            parser.feed(text[i:i + size])
        assert parser.finish() == {"s": 'a"b\\c\n\u00e9\U0001F600'}


def test_nothing_yet_and_trailing_text() -> None:
    parser = PartialJson()
    assert not parser.feed("Sure! Here it is: ")
    assert parser.value() is None
    parser.feed('[1, 2] and some words {"x": 1}')
    assert parser.value() == [1, 2] and parser.complete


def test_json_payload_strips_fences_and_prose() -> None:
    assert json_payload('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert json_payload('Here: {"a": {"b": 2}} done') == '{"a": {"b": 2}}'
    assert json_payload("no json") == "no json"
