"""The compiled expression language agrees with a reference evaluation."""

from __future__ import annotations

from typing import Any

import jsonpath_ng.ext
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_lib_python.errors import ProtocolError
from ai_lib_python.protocol._expr import (
    MISSING,
    BoolOp,
    Compare,
    Exists,
    Lit,
    Not,
    PathNode,
    Truthy,
    compile_condition,
    compile_path,
    parse_expression,
    parse_path,
    path_text,
)

# ------------------------------------------------------------------------------
# Reference: a plain tree-walking interpreter over the parsed AST.
# ------------------------------------------------------------------------------


def ref_find(path: PathNode, root: Any, cur: Any) -> list[Any]:
    values = [root if path.anchor == "$" else cur]
    for step in path.steps:
        nxt: list[Any] = []
        for v in values:
            if step.kind == "key":
                if isinstance(v, dict) and step.key in v:
                    nxt.append(v[step.key])
            elif step.kind == "index":
                assert isinstance(step.key, int)
                if isinstance(v, list) and -len(v) <= step.key < len(v):
                    nxt.append(v[step.key])
            elif step.kind == "wild":
                if isinstance(v, list):
                    nxt.extend(v)
                elif isinstance(v, dict):
                    nxt.extend(v.values())
            else:
                if isinstance(v, list):
                    nxt.extend(x for x in v if ref_eval(step.cond, root, x))
        values = nxt
    return values


def _val(op: Any, root: Any, cur: Any) -> list[Any]:
    if isinstance(op, Lit):
        return [op.value]
    found = ref_find(op, root, cur)
    if op.wildcard:
        return found
    return found if found else [None]


def json_eq(a: Any, b: Any) -> bool:
    """JSON equality: true/false are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def ref_eval(node: Any, root: Any, cur: Any) -> bool:
    if isinstance(node, BoolOp):
        vals = (ref_eval(o, root, cur) for o in node.operands)
        return all(vals) if node.op == "and" else any(vals)
    if isinstance(node, Not):
        return not ref_eval(node.operand, root, cur)
    if isinstance(node, Lit):
        return node.value not in (None, False, 0, "")
    if isinstance(node, Exists):
        return len(ref_find(node.path, root, cur)) > 0
    if isinstance(node, Truthy):
        return any(x is not None for x in ref_find(node.path, root, cur))
    if isinstance(node, Compare):
        left = _val(node.left, root, cur)
        if node.op == "in":
            return any(json_eq(x, v) for x in left for v in node.right)
        right = _val(node.right, root, cur)
        for a in left:
            for b in right:
                if node.op == "==" and json_eq(a, b):
                    return True
                if node.op == "!=" and not json_eq(a, b):
                    return True
                if node.op in (">", ">=", "<", "<=") and a is not None and b is not None:
                    try:
                        if {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[node.op]:
                            return True
                    except TypeError:
                        pass
        return False
    raise AssertionError(node)


# ------------------------------------------------------------------------------
# Strategies
# ------------------------------------------------------------------------------
KEYS = ["a", "b", "type", "choices", "delta"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["x", "y", ""]))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=3),
    ),
    max_leaves=12,
)
steps = st.lists(
    st.one_of(
        st.sampled_from(KEYS).map(lambda k: "." + k),
        st.integers(0, 2).map(lambda i: f"[{i}]"),
        st.just("[*]"),
    ),
    min_size=0,
    max_size=4,
)
paths = steps.map(lambda s: "$" + "".join(s))
literals = st.sampled_from(["'x'", "'y'", "1", "0", "true", "false", "null"])
atoms = st.one_of(
    paths.map(lambda p: f"exists({p})"),
    paths,
    st.tuples(paths, st.sampled_from(["==", "!=", ">", "<="]), literals).map(" ".join),
    paths.map(lambda p: f"{p} in ['x', 1, null]"),
)
exprs = st.recursive(
    atoms,
    lambda children: st.one_of(
        st.tuples(children, st.sampled_from(["&&", "||"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"!{c}"),
    ),
    max_leaves=6,
)


@settings(max_examples=400, deadline=None)
@given(paths, json_values)
def test_compiled_path_matches_reference(path: str, data: Any) -> None:
    compiled = compile_path(path)
    node = parse_path(path)
    expected = ref_find(node, data, data)
    assert compiled.find(data, data) == expected
    first = compiled.get(data, data)
    assert (first is MISSING) == (not expected)
    if expected:
        assert first == expected[0]


@settings(max_examples=300, deadline=None)
@given(paths.filter(lambda p: "[*]" not in p), json_values)
def test_simple_paths_agree_with_jsonpath_ng(path: str, data: Any) -> None:
    found = [m.value for m in jsonpath_ng.ext.parse(path).find(data)] if path != "$" else [data]
    # jsonpath-ng indexes strings too and treats a missing key as no match; compare
    # on containers only, where both agree on JSON semantics.
    ours = compile_path(path).find(data, data)
    if all(isinstance(v, (dict, list)) or v is None or isinstance(v, (int, bool)) for v in found):
        assert ours == found or (not ours and not found)


@settings(max_examples=500, deadline=None)
@given(exprs, json_values)
def test_compiled_condition_matches_reference(expr: str, data: Any) -> None:
    node = parse_expression(expr)
    assert compile_condition(expr)(data, data) == ref_eval(node, data, data)


def test_forms_used_by_manifests() -> None:
    frame = {
        "type": "content_block_delta",
        "delta": {"type": "text_delta", "text": "hi"},
        "choices": [{"index": 0, "delta": {"content": "a", "tool_calls": [
            {"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{"}},
            {"index": 1, "function": {"arguments": "}"}},
        ]}, "finish_reason": None}],
        "content": [{"type": "text", "text": "x"}, {"type": "tool_use", "id": "t"}],
    }
    cond = compile_condition
    assert cond("exists($.choices) || exists($.error)")(frame, frame)
    assert cond("$.type in ['message_start', 'content_block_delta']")(frame, frame)
    assert cond("$.type == 'content_block_delta' && $.delta.type == 'text_delta'")(frame, frame)
    assert not cond("$.choices[0].finish_reason != null")(frame, frame)
    assert cond("$.choices[0].finish_reason == null")(frame, frame)
    assert cond("exists($.choices[*].delta.tool_calls[*].function.name)")(frame, frame)
    assert cond("!exists($.error) && ($.a == null || $.type != 'x')")(frame, frame)
    assert cond("$.choices[0].delta.content")(frame, frame)  # bare path: present, not null
    assert not cond("$.choices[0].finish_reason")(frame, frame)
    assert cond("type == 'tool_use'")(frame, {"type": "tool_use"})  # relative to element
    assert cond("exists(@.functionCall)")(frame, {"functionCall": {}})
    assert compile_path("$.content[?(@.type=='text')].text").find(frame, frame) == ["x"]
    assert compile_path("choices.0.delta.content")(frame) == "a"
    assert compile_path("$.choices[*].delta.tool_calls[*].index").find(frame, frame) == [0, 1]
    assert compile_path("$..text").find(frame, frame)  # exotic form: jsonpath-ng fallback
    assert path_text(parse_path("$.a[0][*].b")) == "$.a[0][*].b"


@pytest.mark.parametrize("bad", ["$.a ==", "exists($.a", "$.a in 'x'", "$.a && ", "#", "$.a[x]"])
def test_bad_expressions_raise_protocol_error(bad: str) -> None:
    with pytest.raises(ProtocolError) as info:
        compile_condition(bad)
    assert repr(bad)[1:-1].split("'")[0] in str(info.value) or "found" in str(info.value)


def test_compilation_is_cached() -> None:
    assert compile_condition("$.x == 1") is compile_condition("$.x == 1")
    assert compile_path("$.a.b") is compile_path("$.a.b")
