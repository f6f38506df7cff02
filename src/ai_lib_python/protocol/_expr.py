"""The manifest expression language, compiled once into Python callables.

Used by ``frame_selector``, ``event_map[].match``, ``stop_condition`` and every field
path in a manifest. Grammar::

    expr     := or
    or       := and ("||" and)*
    and      := unary ("&&" unary)*
    unary    := "!" unary | "(" expr ")" | "exists" "(" path ")" | compare
    compare  := operand [ ("==" | "!=" | ">" | ">=" | "<" | "<=") operand
                        | "in" "[" literal ("," literal)* "]" ]
    operand  := path | literal           literal := 'str' | "str" | number | true | false | null
    path     := ("$" | "@" | name) step*
    step     := "." name | "[" int "]" | "[*]" | ".*" | "['name']" | "[?(" expr ")]"

``$`` is the frame (root), ``@`` the current element (inside filters and ``foreach``
rules); a path that starts with a bare name is relative to the current element.
A bare path used as a condition means "present and not null". Comparisons on a
path with wildcards are true when any match satisfies them; a missing value
compares as ``null``.

Paths and conditions are turned into Python source and compiled, so the per-chunk
cost of ``$.choices[0].delta.content`` is a few dict lookups. Paths this grammar
does not cover (recursive descent ``..``, slices, unions) fall back to jsonpath-ng,
which is imported only then.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ai_lib_python.errors import ProtocolError


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()
"""Returned by :meth:`CompiledPath.get` when a path does not resolve."""

Getter = Callable[[Any, Any], Any]
Condition = Callable[[Any, Any], bool]

# ---------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>-?\d+(?:\.\d+)?)
      | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<op>\|\||&&|==|!=|>=|<=|\[\*\]|\.\*|\[\?\(|[()\[\],.!<>$@])
      | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # num | str | op | name | end
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    n = len(text)
    while pos < n:
        if text[pos].isspace():
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ProtocolError(f"unexpected character {text[pos]!r} at {pos} in {text!r}")
        kind = m.lastgroup or "op"
        toks.append(_Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    toks.append(_Tok("end", "", n))
    return toks


# ---------------------------------------------------------------------------------
# AST
# ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Step:
    """One path step: ``key`` (str), ``index`` (int), ``wild`` or ``filter``."""

    kind: str
    key: str | int | None = None
    cond: Node | None = None


@dataclass(frozen=True, slots=True)
class PathNode:
    anchor: str  # "$" or "@"
    steps: tuple[Step, ...]

    @property
    def wildcard(self) -> bool:
        return any(s.kind in ("wild", "filter") for s in self.steps)


@dataclass(frozen=True, slots=True)
class Lit:
    value: Any


@dataclass(frozen=True, slots=True)
class Exists:
    path: PathNode


@dataclass(frozen=True, slots=True)
class Truthy:
    path: PathNode


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: PathNode | Lit
    right: PathNode | Lit | tuple[Any, ...]


Node = PathNode | Lit | Exists | Truthy | Not | BoolOp | Compare

_LITERAL_NAMES: Final = {"true": True, "false": False, "null": None}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    # -- helpers --
    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            self.fail(f"expected {text!r}", tok)

    def fail(self, msg: str, tok: _Tok | None = None) -> None:
        tok = tok or self.peek()
        got = tok.text or "end of expression"
        raise ProtocolError(f"{msg} but found {got!r} at {tok.pos} in {self.text!r}")

    # -- grammar --
    def parse_expr(self) -> Node:
        node = self.parse_or()
        if self.peek().kind != "end":
            self.fail("expected end of expression")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.peek().text == "||":
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_unary()]
        while self.peek().text == "&&":
            self.take()
            items.append(self.parse_unary())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def parse_unary(self) -> Node:
        tok = self.peek()
        if tok.text == "!":
            self.take()
            return Not(self.parse_unary())
        if tok.text == "(":
            self.take()
            node = self.parse_or()
            self.expect(")")
            return node
        if tok.kind == "name" and tok.text == "exists" and self.toks[self.i + 1].text == "(":
            self.take()
            self.take()
            path = self.parse_path()
            self.expect(")")
            return Exists(path)
        return self.parse_compare()

    def parse_compare(self) -> Node:
        left = self.parse_operand()
        tok = self.peek()
        if tok.text in ("==", "!=", ">", ">=", "<", "<="):
            self.take()
            return Compare(tok.text, left, self.parse_operand())
        if tok.kind == "name" and tok.text == "in":
            self.take()
            self.expect("[")
            values: list[Any] = []
            while self.peek().text != "]":
                values.append(self.parse_literal())
                if self.peek().text == ",":
                    self.take()
                elif self.peek().text != "]":
                    self.fail("expected ',' or ']'")
            self.expect("]")
            return Compare("in", left, tuple(values))
        if isinstance(left, Lit):
            return left
        return Truthy(left)

    def parse_operand(self) -> PathNode | Lit:
        tok = self.peek()
        if tok.kind in ("num", "str") or (tok.kind == "name" and tok.text in _LITERAL_NAMES):
            return Lit(self.parse_literal())
        if tok.text in ("$", "@") or tok.kind == "name":
            return self.parse_path()
        self.fail("expected a path or a literal")
        raise AssertionError  # pragma: no cover

    def parse_literal(self) -> Any:
        tok = self.take()
        if tok.kind == "num":
            return float(tok.text) if "." in tok.text else int(tok.text)
        if tok.kind == "str":
            body = tok.text[1:-1]
            return re.sub(r"\\(.)", r"\1", body)
        if tok.kind == "name" and tok.text in _LITERAL_NAMES:
            return _LITERAL_NAMES[tok.text]
        self.fail("expected a literal", tok)
        raise AssertionError  # pragma: no cover

    def parse_path_only(self) -> PathNode:
        path = self.parse_path()
        if self.peek().kind != "end":
            self.fail("expected end of path")
        return path

    def parse_path(self) -> PathNode:
        tok = self.take()
        steps: list[Step] = []
        if tok.text in ("$", "@"):
            anchor = tok.text
        elif tok.kind == "name":
            anchor = "@"
            steps.append(Step("key", tok.text))
        else:
            self.fail("expected a path", tok)
            raise AssertionError  # pragma: no cover
        while True:
            tok = self.peek()
            if tok.text == ".":
                self.take()
                name = self.take()
                if name.kind == "num" and name.text.isdigit():
                    steps.append(Step("index", int(name.text)))
                elif name.kind == "name":
                    steps.append(Step("key", name.text))
                else:
                    self.fail("expected a field name after '.'", name)
            elif tok.text in ("[*]", ".*"):
                self.take()
                steps.append(Step("wild"))
            elif tok.text == "[?(":
                self.take()
                cond = self.parse_or()
                self.expect(")")
                self.expect("]")
                steps.append(Step("filter", cond=cond))
            elif tok.text == "[":
                self.take()
                inner = self.take()
                if inner.kind == "num" and "." not in inner.text:
                    steps.append(Step("index", int(inner.text)))
                elif inner.kind == "str":
                    steps.append(Step("key", inner.text[1:-1]))
                else:
                    self.fail("expected an index or a quoted key", inner)
                self.expect("]")
            else:
                return PathNode(anchor, tuple(steps))


# ---------------------------------------------------------------------------------
# Code generation
# ---------------------------------------------------------------------------------
class CodeGen:
    """Generates the Python source of one compiled callable."""

    def __init__(self) -> None:
        self.consts: dict[str, Any] = {"MISSING": MISSING}
        self.helpers: list[str] = []
        self.n = 0
        self._memo: dict[tuple[str, PathNode], str] = {}
        # Inline mode (the event map): root paths are evaluated once per frame into
        # locals, parents before children, so shared prefixes are walked once.
        self.inline_root = False
        self.lazy_fields = False
        # The reads of a frame's paths into locals (see :meth:`render`).
        self.preamble: list[tuple[str, str, Step]] = []
        # Inside a foreach loop: element paths read once per element, into locals.
        self.elem_locals: dict[tuple[Step, ...], str] | None = None
        self.elem_preamble: list[tuple[str, str, Step]] = []
        self._locals: dict[tuple[Step, ...], str] = {}

    @staticmethod
    def render(reads: Sequence[tuple[str, str, Step]], indent: str = "") -> list[str]:
        """Source of ``reads`` (local, parent local, step): the keys read from one
        parent share one ``type(parent) is dict`` test; parents come before children."""
        lines: list[str] = []
        ready = {"root", "cur"}
        pending = list(reads)
        while pending:
            parent = next(p for _, p, _ in pending if p in ready)
            group = [r for r in pending if r[1] == parent]
            keys = [(name, st) for name, _, st in group if st.kind == "key"]
            if keys:
                lines.append(f"{indent}if type({parent}) is dict:")
                lines += [f"{indent}    {name} = {parent}.get({st.key!r}, MISSING)"
                          for name, st in keys]
                lines.append(f"{indent}else:")
                lines.append(f"{indent}    {' = '.join(n for n, _ in keys)} = MISSING")
            for name, _, st in group:
                if st.kind != "key":
                    i = int(st.key or 0)
                    fits = f"len({parent}) > {i}" if i >= 0 else f"len({parent}) >= {-i}"
                    lines.append(f"{indent}{name} = {parent}[{i}] if type({parent}) is list "
                                 f"and {fits} else MISSING")
            ready.update(name for name, _, _ in group)
            pending = [r for r in pending if r[1] != parent]
        return lines

    def _local(self, steps: tuple[Step, ...]) -> str:
        name = self._locals.get(steps)
        if name is not None:
            return name
        if not steps:
            self._locals[steps] = "root"
            return "root"
        parent = self._local(steps[:-1])
        name = self._locals[steps] = self.fresh("_p")
        self.preamble.append((name, parent, steps[-1]))
        return name

    def _elem_local(self, steps: tuple[Step, ...]) -> str:
        table = self.elem_locals
        assert table is not None
        if not steps:
            return "cur"
        name = table.get(steps)
        if name is not None:
            return name
        parent = self._elem_local(steps[:-1])
        name = table[steps] = self.fresh("_e")
        self.elem_preamble.append((name, parent, steps[-1]))
        return name

    def _chain(self, base: str, steps: tuple[Step, ...]) -> str:
        """Inline lookups of ``steps`` from the expression ``base`` (walrus temporaries)."""
        expr = base
        for st in steps:
            tmp = self.fresh("_w")
            if st.kind == "key":
                expr = (f"({tmp}.get({st.key!r}, MISSING) if type({tmp} := {expr}) is dict "
                        "else MISSING)")
            else:
                i = st.key
                expr = (f"({tmp}[{i}] if type({tmp} := {expr}) is list and "
                        f"-len({tmp}) <= {i} < len({tmp}) else MISSING)")
        return expr

    def get_expr(self, path: PathNode) -> str:
        """Source of an expression giving a single-valued path's value or MISSING."""
        if self.inline_root and path.anchor == "$":
            if self.lazy_fields:
                # A field value is needed only when its rule matched: start from the
                # deepest prefix the conditions already read, look up the rest inline.
                steps = path.steps
                for cut in range(len(steps), -1, -1):
                    base = self._locals.get(steps[:cut])
                    if base is not None or cut == 0:
                        return self._chain(base or "root", steps[cut:])
            return self._local(path.steps)
        if self.inline_root and path.anchor == "@" and all(
                st.kind in ("key", "index") for st in path.steps):
            if self.elem_locals is not None:
                if self.lazy_fields:
                    steps = path.steps
                    for cut in range(len(steps), -1, -1):
                        base = self.elem_locals.get(steps[:cut])
                        if base is not None or cut == 0:
                            return self._chain(base or "cur", steps[cut:])
                return self._elem_local(path.steps)
            # Element-relative paths: inline lookups, no call.
            return self._chain("cur", path.steps)
        return f"{self.getter(path)}(root, cur)"

    def const(self, value: Any) -> str:
        name = f"_c{len(self.consts)}"
        self.consts[name] = value
        return name

    def fresh(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    # A single-valued path: a helper function returning the value or MISSING.
    def getter(self, path: PathNode) -> str:
        memo = self._memo.get(("g", path))
        if memo is not None:
            return memo
        name = self._memo[("g", path)] = self.fresh("_g")
        base = "root" if path.anchor == "$" else "cur"
        lines = [f"def {name}(root, cur):", f"    v = {base}"]
        for step in path.steps:
            if step.kind == "key":
                lines += [
                    "    if type(v) is not dict: return MISSING",
                    f"    v = v.get({step.key!r}, MISSING)",
                    "    if v is MISSING: return MISSING",
                ]
            else:  # index
                idx = step.key
                assert isinstance(idx, int)
                lines += ["    if type(v) is not list: return MISSING"]
                if idx >= 0:
                    lines += [f"    if len(v) <= {idx}: return MISSING"]
                else:
                    lines += [f"    if len(v) < {-idx}: return MISSING"]
                lines += [f"    v = v[{idx}]"]
        lines.append("    return v")
        self.helpers.append("\n".join(lines))
        return name

    # A multi-valued path: a helper returning the list of matches. The steps before
    # the first wildcard are direct lookups, so a missing prefix costs almost nothing.
    def finder(self, path: PathNode) -> str:
        memo = self._memo.get(("f", path))
        if memo is not None:
            return memo
        name = self._memo[("f", path)] = self.fresh("_f")
        base = "root" if path.anchor == "$" else "cur"
        steps = list(path.steps)
        lines = [f"def {name}(root, cur):", f"    v = {base}"]
        while steps and steps[0].kind in ("key", "index"):
            step = steps.pop(0)
            if step.kind == "key":
                lines += [
                    "    if type(v) is not dict: return []",
                    f"    v = v.get({step.key!r}, MISSING)",
                    "    if v is MISSING: return []",
                ]
            else:
                i = step.key
                lines += [f"    if type(v) is not list or not (-len(v) <= {i} < len(v)): return []",
                          f"    v = v[{i}]"]
        lines.append("    vs = [v]")
        for step in steps:
            if step.kind == "key":
                lines += [
                    "    vs = [x[k] for x in vs if type(x) is dict "
                    f"for k in ({step.key!r},) if k in x]"
                ]
            elif step.kind == "index":
                i = step.key
                lines += [
                    f"    vs = [x[{i}] for x in vs if type(x) is list and "
                    f"-len(x) <= {i} < len(x)]"
                ]
            elif step.kind == "wild":
                lines += [
                    "    vs = [y for x in vs for y in "
                    "(x if type(x) is list else x.values() if type(x) is dict else ())]"
                ]
            else:
                assert step.cond is not None
                cond = self.cond_fn(step.cond)
                lines += [
                    f"    vs = [y for x in vs if type(x) is list for y in x if {cond}(root, y)]"
                ]
        lines.append("    return vs")
        self.helpers.append("\n".join(lines))
        return name

    def _inline_any(self, path: PathNode) -> str | None:
        """``exists($.a[*].b)`` as ``any(...)`` over a local, for one simple wildcard."""
        if not (self.inline_root and path.anchor == "$"):
            return None
        kinds = [st.kind for st in path.steps]
        if kinds.count("wild") != 1 or "filter" in kinds:
            return None
        cut = kinds.index("wild")
        arr = self._local(path.steps[:cut])
        rest = self._chain("_x", path.steps[cut + 1:])
        # A one-element list (one candidate: nearly every frame) reads the element
        # through the per-frame locals; only longer arrays pay for the generator.
        only = self._local((*path.steps[:cut], Step("index", 0), *path.steps[cut + 1:]))
        return (f"(({only} is not MISSING) if type({arr}) is list and len({arr}) == 1 else "
                f"any({rest} is not MISSING for _x in ({arr} if type({arr}) is list else "
                f"{arr}.values() if type({arr}) is dict else ())))")

    def value(self, text: str) -> str:
        """Source of an expression giving a path's value, None when absent."""
        node = _Parser(_normalize_path_text(text)).parse_path_only()
        if node.wildcard:
            return f"_first({self.finder(node)}(root, cur))"
        expr = self.get_expr(node)
        if expr.isidentifier():  # a local: convert inline, no call
            return f"(None if {expr} is MISSING else {expr})"
        return f"_n({expr})"

    def condition(self, text: str) -> str:
        """Source of a boolean expression for ``text``."""
        return self.cond(_Parser(text.strip()).parse_expr())

    def find_source(self, text: str) -> str:
        node = _Parser(_normalize_path_text(text)).parse_path_only()
        steps = node.steps
        if (self.inline_root and node.anchor == "$" and steps and steps[-1].kind == "wild"
                and not any(s.kind in ("wild", "filter") for s in steps[:-1])):
            v = self._local(steps[:-1])
            return (f"({v} if type({v}) is list else {v}.values() if type({v}) is dict "
                    "else ())")
        return f"{self.finder(node)}(root, root)"

    def build_module(self, source: str) -> dict[str, Any]:
        """Compile helper functions plus ``source``; return the namespace."""
        src = "\n\n".join([*self.helpers, source])
        namespace: dict[str, Any] = dict(self.consts)
        namespace["_n"] = _null_if_missing
        namespace["_h"] = _hashable
        namespace["_in"] = _json_in
        namespace["_first"] = _first_or_none
        exec(compile(src, "<ai-protocol event map>", "exec"), namespace)
        return namespace

    def cond_fn(self, node: Node) -> str:
        name = self.fresh("_q")
        inline, self.inline_root = self.inline_root, False
        try:
            self.helpers.append(f"def {name}(root, cur):\n    return {self.cond(node)}")
        finally:
            self.inline_root = inline
        return name

    def cond(self, node: Node) -> str:
        if isinstance(node, BoolOp):
            joiner = " and " if node.op == "and" else " or "
            return "(" + joiner.join(self.cond(o) for o in node.operands) + ")"
        if isinstance(node, Not):
            return f"(not {self.cond(node.operand)})"
        if isinstance(node, Lit):
            return "True" if node.value not in (None, False, 0, "") else "False"
        if isinstance(node, Exists):
            if node.path.wildcard:
                inline = self._inline_any(node.path)
                if inline is not None:
                    return inline
                return f"(len({self.finder(node.path)}(root, cur)) > 0)"
            return f"({self.get_expr(node.path)} is not MISSING)"
        if isinstance(node, (Truthy, PathNode)):
            path = node.path if isinstance(node, Truthy) else node
            if path.wildcard:
                return f"any(x is not None for x in {self.finder(path)}(root, cur))"
            return f"({self.get_expr(path)} not in (MISSING, None))"
        if isinstance(node, Compare):
            return self.compare(node)
        raise AssertionError(node)  # pragma: no cover

    def operand(self, op: PathNode | Lit) -> tuple[str, bool]:
        """Source for an operand and whether it yields a list of candidates."""
        if isinstance(op, Lit):
            return self.const(op.value), False
        if op.wildcard:
            return f"{self.finder(op)}(root, cur)", True
        return f"_n({self.get_expr(op)})", False

    def compare(self, node: Compare) -> str:
        left, left_many = self.operand(node.left)
        if node.op == "in":
            assert isinstance(node.right, tuple)
            strings = self.const(frozenset(v for v in node.right if isinstance(v, str)))
            others = self.const(tuple(v for v in node.right if not isinstance(v, str)))
            if left_many:
                return (f"any((x in {strings}) if type(x) is str else _in(x, {others}) "
                        f"for x in {left})")
            return f"(({left} in {strings}) if type({left}) is str else _in({left}, {others}))"
        assert not isinstance(node.right, tuple)
        right, right_many = self.operand(node.right)
        fn = self.const(_COMPARATORS[node.op])
        if left_many and right_many:
            return f"any({fn}(a, b) for a in {left} for b in {right})"
        if left_many:
            return f"any({fn}(a, {right}) for a in {left})"
        if right_many:
            return f"any({fn}({left}, b) for b in {right})"
        if node.op in ("==", "!="):
            lit = node.right if isinstance(node.right, Lit) else (
                node.left if isinstance(node.left, Lit) else None)
            other = node.left if lit is node.right else node.right
            if lit is not None and isinstance(other, PathNode) and not other.wildcard:
                raw = self.get_expr(other)
                value = lit.value
                if value is None:  # a missing value compares as null
                    if node.op == "==":
                        return f"({raw} is None or {raw} is MISSING)"
                    return f"({raw} is not None and {raw} is not MISSING)"
                if isinstance(value, bool):  # JSON true/false: identity, so 1 != true
                    return f"({raw} is {value!r})" if node.op == "==" else (
                        f"({raw} is not {value!r})")
                if isinstance(value, str):
                    # MISSING never equals a non-null literal: no conversion needed
                    return f"({raw} {node.op} {value!r})"
                if isinstance(value, (int, float)):  # a JSON number: false is not 0
                    if node.op == "==":
                        return f"({raw} == {value!r} and type({raw}) is not bool)"
                    return f"({raw} != {value!r} or type({raw}) is bool)"
        return f"{fn}({left}, {right})"

    def build(self, body: str) -> Callable[..., Any]:
        src = "\n\n".join([*self.helpers, f"def _entry(root, cur):\n    return {body}"])
        namespace: dict[str, Any] = dict(self.consts)
        namespace["_n"] = _null_if_missing
        namespace["_h"] = _hashable
        namespace["_in"] = _json_in
        exec(compile(src, "<ai-protocol expression>", "exec"), namespace)
        fn: Callable[..., Any] = namespace["_entry"]
        return fn


def _null_if_missing(v: Any) -> Any:
    return None if v is MISSING else v


def _first_or_none(vs: list[Any]) -> Any:
    return vs[0] if vs else None


def _hashable(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def cmp(a: Any, b: Any) -> bool:
        if a is MISSING or b is MISSING or a is None or b is None:
            return False
        try:
            return op(a, b)
        except TypeError:
            return False

    return cmp


def _eq(a: Any, b: Any) -> bool:
    """JSON equality: a missing value is null, and true/false never equal numbers."""
    a = _null_if_missing(a)
    b = _null_if_missing(b)
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    return bool(a == b)


def _ne(a: Any, b: Any) -> bool:
    return not _eq(a, b)


def _json_in(x: Any, values: tuple[Any, ...]) -> bool:
    return any(_eq(x, v) for v in values)


_COMPARATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "==": _eq,
    "!=": _ne,
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
}


# ---------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------
_EXOTIC = re.compile(r"\.\.|\[\s*-?\d*\s*:|\[\s*\d+\s*,|\[\s*'[^']*'\s*,")


@dataclass(frozen=True, slots=True)
class CompiledPath:
    """A compiled field path. ``get`` returns the first match or MISSING; ``find`` all."""

    text: str
    node: PathNode | None
    get: Getter
    find: Callable[[Any, Any], list[Any]]

    @property
    def wildcard(self) -> bool:
        return self.node is None or self.node.wildcard

    def __call__(self, root: Any, cur: Any = None) -> Any:
        return self.get(root, root if cur is None else cur)


def _normalize_path_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise ProtocolError("empty path")
    return text


@functools.lru_cache(maxsize=4096)
def compile_path(text: str) -> CompiledPath:
    """Compile a field path such as ``$.choices[0].delta.content`` or ``usage.total``."""
    text = _normalize_path_text(text)
    if _EXOTIC.search(text):
        return _compile_jsonpath(text)
    node = _Parser(text).parse_path_only()
    gen = CodeGen()
    if node.wildcard:
        find_name = gen.finder(node)
        find = gen.build(f"{find_name}(root, cur)")
        gen2 = CodeGen()
        first = gen2.finder(node)
        get = gen2.build(f"(lambda r: r[0] if r else MISSING)({first}(root, cur))")
    else:
        getter_name = gen.getter(node)
        get = gen.build(f"{getter_name}(root, cur)")

        def find(root: Any, cur: Any, _get: Getter = get) -> list[Any]:
            v = _get(root, cur)
            return [] if v is MISSING else [v]

    return CompiledPath(text, node, get, find)


def _compile_jsonpath(text: str) -> CompiledPath:
    import jsonpath_ng.ext  # exotic paths only; never on the hot path of simple ones

    expr_text = text if text.startswith("$") else "$." + text.lstrip("@.")
    try:
        parsed = getattr(jsonpath_ng.ext, "parse")(expr_text)  # noqa: B009
    except Exception as exc:  # jsonpath-ng raises several unrelated types
        raise ProtocolError(f"invalid path {text!r}: {exc}") from None

    def find(root: Any, cur: Any) -> list[Any]:
        base = root if text.startswith("$") else cur
        return [m.value for m in parsed.find(base)]

    def get(root: Any, cur: Any) -> Any:
        found = find(root, cur)
        return found[0] if found else MISSING

    return CompiledPath(text, None, get, find)


@functools.lru_cache(maxsize=4096)
def compile_condition(text: str) -> Condition:
    """Compile a boolean expression; the callable takes ``(root, cur)``."""
    node = _Parser(text.strip()).parse_expr()
    gen = CodeGen()
    fn: Condition = gen.build(gen.cond(node))
    return fn


def parse_path(text: str) -> PathNode:
    """Parse a path without compiling it (used to analyse and rewrite paths)."""
    return _Parser(_normalize_path_text(text)).parse_path_only()


def parse_expression(text: str) -> Node:
    return _Parser(text.strip()).parse_expr()


def path_text(node: PathNode) -> str:
    """Render a path node back to text (inverse of :func:`parse_path`)."""
    out = [node.anchor]
    for s in node.steps:
        if s.kind == "key":
            key = str(s.key)
            out.append("." + key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", key) else
                       f"['{key}']")
        elif s.kind == "index":
            out.append(f"[{s.key}]")
        elif s.kind == "wild":
            out.append("[*]")
        else:
            raise ProtocolError("filters cannot be rendered back to text")
    return "".join(out)

