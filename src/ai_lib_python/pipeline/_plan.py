"""decode -> select -> fan out -> map -> accumulate, compiled once per manifest.

:class:`StreamPlan` holds everything derived from a manifest's ``streaming`` block:
the compiled frame selector, stop condition and event-map rules. It is built once
per manifest and cached on it. :class:`StreamState` is one stream's mutable state
(decoder buffer, accumulators, usage); it lives in the stream object, never in
the client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ai_lib_python.errors import ProviderError, StreamDecodeError, provider_error
from ai_lib_python.pipeline._accumulate import CandidateAccumulator, normalize_finish
from ai_lib_python.pipeline._decode import DONE, FrameDecoder, make_decoder
from ai_lib_python.protocol._expr import (
    MISSING,
    Condition,
    Getter,
    PathNode,
    Step,
    compile_condition,
    compile_path,
    parse_expression,
    parse_path,
    path_text,
)
from ai_lib_python.types import (
    ChatResponse,
    FinalCandidate,
    Metadata,
    PartialContentDelta,
    PartialToolCall,
    StreamEnd,
    StreamError,
    StreamEvent,
    ThinkingDelta,
    ToolCallEnded,
    ToolCallStarted,
    normalize_usage,
)

EMITS = frozenset(
    (
        "PartialContentDelta", "ThinkingDelta", "ToolCallStarted", "PartialToolCall",
        "ToolCallEnded", "Metadata", "UsageReport", "FinalCandidate", "StreamEnd",
        "StreamError",
    )
)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One ``event_map`` rule in plain data."""

    match: str
    emit: str
    fields: Mapping[str, Any]
    foreach: str | None = None


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """The parts of a manifest's streaming block the plan needs, as plain data."""

    provider: str
    decoder_format: str | None = "sse"
    done_signal: str | None = "[DONE]"
    frame_selector: str | None = None
    stop_condition: str | None = None
    rules: tuple[RuleSpec, ...] = ()
    candidate_path: str | None = None
    termination: Mapping[str, str] | None = None
    error_by_code: Mapping[str, str] | None = None
    error_by_status: Mapping[str, str] | None = None


_FieldFn = Callable[[Any, Any], Any]


def _field_fn(value: Any) -> _FieldFn:
    if isinstance(value, str) and value[:1] in ("$", "@"):
        getter: Getter = compile_path(value).get

        def get(root: Any, cur: Any) -> Any:
            v = getter(root, cur)
            return None if v is MISSING else v

        return get

    def const(root: Any, cur: Any) -> Any:
        return value

    return const


def _wild_prefix(node: PathNode) -> tuple[Step, ...] | None:
    last = None
    for i, step in enumerate(node.steps):
        if step.kind == "wild":
            last = i
    return None if last is None else node.steps[: last + 1]


def _infer_foreach(rule: RuleSpec) -> RuleSpec:
    """Official manifests write ``$.choices[*].delta.tool_calls[*].id`` in fields: find the
    shared wildcard prefix and turn it into a ``foreach`` with element-relative paths."""
    if rule.foreach is not None:
        return rule
    prefixes: list[tuple[Step, ...]] = []
    anchors: list[str] = []
    for value in rule.fields.values():
        if isinstance(value, str) and value.startswith("$") and "[*]" in value:
            node = parse_path(value)
            prefix = _wild_prefix(node)
            if prefix is not None:
                prefixes.append(prefix)
                anchors.append(node.anchor)
    if not prefixes:
        return rule
    common = min(prefixes, key=len)
    if any(p[: len(common)] != common for p in prefixes):
        return rule

    def rel(text: Any) -> Any:
        if not (isinstance(text, str) and text.startswith("$")):
            return text
        node = parse_path(text)
        if node.steps[: len(common)] != common:
            return text
        return path_text(PathNode("@", node.steps[len(common):]))

    fields = {k: rel(v) for k, v in rule.fields.items()}
    match = rule.match
    expr = parse_expression(match)
    inner = getattr(expr, "path", None)
    if isinstance(inner, PathNode) and inner.steps[: len(common)] == common:
        rest = path_text(PathNode("@", inner.steps[len(common):]))
        match = f"exists({rest})" if match.strip().startswith("exists") else rest
    return RuleSpec(match, rule.emit, fields, path_text(PathNode("$", common)))


@dataclass(frozen=True, slots=True)
class _Rule:
    emit: str
    cond: Condition
    foreach: Callable[[Any, Any], list[Any]] | None
    fields: tuple[tuple[str, _FieldFn], ...]


class StreamPlan:
    """Compiled streaming configuration of one manifest (immutable, shared)."""

    def __init__(self, spec: StreamSpec) -> None:
        self.spec = spec
        self.selector: Condition | None = (
            compile_condition(spec.frame_selector) if spec.frame_selector else None
        )
        self.stop: Condition | None = (
            compile_condition(spec.stop_condition) if spec.stop_condition else None
        )
        self.termination = dict(spec.termination or {})
        rules: list[_Rule] = []
        for raw in spec.rules:
            if raw.emit not in EMITS:
                from ai_lib_python.errors import ProtocolError

                raise ProtocolError(
                    f"unknown event type {raw.emit!r}; expected one of {sorted(EMITS)}",
                    source=spec.provider, path="streaming.event_map",
                )
            rule = _infer_foreach(raw)
            rules.append(
                _Rule(
                    rule.emit,
                    compile_condition(rule.match),
                    compile_path(rule.foreach).find if rule.foreach else None,
                    tuple((k, _field_fn(v)) for k, v in rule.fields.items()),
                )
            )
        self.rules = tuple(rules)
        self.fan_key: str | None = None
        self.fan_id: str | None = None
        if spec.candidate_path:
            node = parse_path(spec.candidate_path)
            steps = node.steps
            if (len(steps) >= 2 and steps[0].kind == "key" and steps[1].kind == "wild"):
                self.fan_key = str(steps[0].key)
                if len(steps) == 3 and steps[2].kind == "key":
                    self.fan_id = str(steps[2].key)

    @classmethod
    def for_manifest(cls, manifest: Any) -> StreamPlan:
        """The plan of a manifest, built once and cached on it."""
        cache: dict[str, Any] | None = getattr(manifest, "runtime_cache", None)
        if cache is not None and "stream_plan" in cache:
            plan: StreamPlan = cache["stream_plan"]
            return plan
        plan = cls(stream_spec_of(manifest))
        if cache is not None:
            cache["stream_plan"] = plan
        return plan

    def new_stream(self, *, decoder_format: str | None = None) -> StreamState:
        return StreamState(self, decoder_format=decoder_format)


def stream_spec_of(manifest: Any) -> StreamSpec:
    """Read the streaming block of a manifest through its normalized accessors."""
    s = getattr(manifest, "streaming", None)
    decoder = getattr(s, "decoder", None) if s is not None else None
    candidate = getattr(s, "candidate", None) if s is not None else None
    rules: list[RuleSpec] = []
    for r in (getattr(s, "event_map", None) or []) if s is not None else []:
        rules.append(RuleSpec(r.match, r.emit, dict(r.fields or {}), getattr(r, "foreach", None)))
    fan = None
    if candidate is not None and getattr(candidate, "fan_out", True):
        fan = getattr(candidate, "candidate_id_path", None)
    fmt = getattr(decoder, "format", None) if decoder is not None else None
    done = getattr(decoder, "done_signal", None) if decoder is not None else None
    return StreamSpec(
        provider=str(getattr(manifest, "id", "?")),
        decoder_format=fmt,
        done_signal=done or None,
        frame_selector=getattr(s, "frame_selector", None) if s is not None else None,
        stop_condition=getattr(s, "stop_condition", None) if s is not None else None,
        rules=tuple(rules),
        candidate_path=fan,
        termination=getattr(manifest, "termination_map", None) or {},
        error_by_code=getattr(manifest, "error_by_code", None) or {},
        error_by_status=getattr(manifest, "error_by_status", None) or {},
    )


class StreamState:
    """One stream's state: feed it bytes, get typed events; ask it for the response."""

    __slots__ = (
        "_cands",
        "_decoder",
        "_ended",
        "_plan",
        "_raw_usage",
        "completed",
        "done",
        "error",
        "frames",
        "model",
        "response_id",
    )

    def __init__(self, plan: StreamPlan, *, decoder_format: str | None = None) -> None:
        self._plan = plan
        self._decoder: FrameDecoder = make_decoder(
            decoder_format or plan.spec.decoder_format, done_signal=plan.spec.done_signal
        )
        self._cands: dict[int, CandidateAccumulator] = {}
        self._raw_usage: dict[str, Any] | None = None
        self._ended = False
        self.done = False
        self.completed = False
        self.error: ProviderError | None = None
        self.frames = 0
        self.model: str | None = None
        self.response_id: str | None = None

    # -- input --------------------------------------------------------------------
    def feed(self, chunk: bytes) -> list[StreamEvent]:
        """Decode ``chunk`` and return the events it completes."""
        out: list[StreamEvent] = []
        for frame in self._decoder.feed(chunk):
            self._frame(frame, out)
        return out

    def feed_frames(self, frames: Iterable[Any]) -> list[StreamEvent]:
        """Map already-decoded frames (dicts) to events."""
        out: list[StreamEvent] = []
        for frame in frames:
            self._frame(frame, out)
        return out

    def finish(self, *, strict: bool = True) -> list[StreamEvent]:
        """End of input: flush, check completeness, close open calls, emit StreamEnd."""
        out: list[StreamEvent] = []
        for frame in self._decoder.close():
            self._frame(frame, out)
        if strict and not (self.done or self.completed or self.error is not None):
            raise StreamDecodeError(
                f"{self._plan.spec.provider} stream ended before it was complete "
                f"(no done signal or final frame after {self.frames} frames)"
            )
        if not self._ended:
            self._end(out, None)
        return out

    def _cand(self, index: int) -> CandidateAccumulator:
        acc = self._cands.get(index)
        if acc is None:
            acc = self._cands[index] = CandidateAccumulator(index)
        return acc

    def _frame(self, frame: Any, out: list[StreamEvent]) -> None:
        if frame is DONE:
            self.done = True
            return
        plan = self._plan
        self.frames += 1
        if plan.selector is not None and not plan.selector(frame, frame):
            return
        if plan.stop is not None and not self.completed and plan.stop(frame, frame):
            self.completed = True
        key = plan.fan_key
        if key is not None and type(frame) is dict:
            arr = frame.get(key)
            if type(arr) is list and arr:
                if len(arr) == 1:
                    el = arr[0]
                    idx = el.get(plan.fan_id or "index", 0) if type(el) is dict else 0
                    self._map(frame, idx if type(idx) is int else 0, out)
                    return
                for pos, el in enumerate(arr):
                    sub = dict(frame)
                    sub[key] = [el]
                    idx = el.get(plan.fan_id or "index", pos) if type(el) is dict else pos
                    self._map(sub, idx if type(idx) is int else pos, out)
                return
        self._map(frame, 0, out)

    def _map(self, frame: Any, cand: int, out: list[StreamEvent]) -> None:
        for rule in self._plan.rules:
            each = rule.foreach
            if each is None:
                if rule.cond(frame, frame):
                    self._emit(rule, frame, frame, cand, out)
            else:
                for el in each(frame, frame):
                    if rule.cond(frame, el):
                        self._emit(rule, frame, el, cand, out)

    # -- event construction -------------------------------------------------------
    def _emit(self, rule: _Rule, root: Any, cur: Any, cand: int,
              out: list[StreamEvent]) -> None:
        f = {name: fn(root, cur) for name, fn in rule.fields}
        emit = rule.emit
        if emit == "PartialContentDelta":
            text = f.get("content")
            if isinstance(text, str) and text:
                self._cand(cand).text(text)
                out.append(PartialContentDelta(text, cand))
        elif emit == "ThinkingDelta":
            text = f.get("thinking")
            text = text if isinstance(text, str) else ""
            sig = f.get("signature")
            red = f.get("redacted")
            sig = sig if isinstance(sig, str) and sig else None
            red = red if isinstance(red, str) and red else None
            new_block = bool(f.get("new_block"))
            if text or sig or red or new_block:
                self._cand(cand).thinking(text, sig, red, new_block)
                if text or sig or red:
                    out.append(ThinkingDelta(text, cand, sig, red))
        elif emit == "ToolCallStarted":
            self._tool_started(f, cand, out)
        elif emit == "PartialToolCall":
            deltas = f.get("tool_calls")
            if isinstance(deltas, list):  # v2 form: the raw OpenAI tool_calls deltas
                for d in deltas:
                    if isinstance(d, dict):
                        fn = d.get("function") or {}
                        self._tool_started(
                            {"tool_call_id": d.get("id"), "tool_name": fn.get("name"),
                             "index": d.get("index")}, cand, out, only_if_named=True)
                        args = fn.get("arguments")
                        if isinstance(args, str) and args:
                            self._tool_args(args, d.get("index"), d.get("id"), cand, out)
            else:
                args = f.get("arguments")
                if isinstance(args, str) and args:
                    self._tool_args(args, f.get("index"), f.get("tool_call_id"), cand, out)
        elif emit == "ToolCallEnded":
            call = self._cand(cand).tool_end(f.get("index"), f.get("tool_call_id"))
            if call is not None:
                out.append(ToolCallEnded(call, f.get("index"), cand))
        elif emit in ("Metadata", "UsageReport"):
            self._metadata(f, cand, out)
        elif emit == "FinalCandidate":
            raw = f.get("finish_reason")
            idx = f.get("candidate_index")
            self._final(cand if not isinstance(idx, int) else idx,
                        raw if isinstance(raw, str) else None, out)
        elif emit == "StreamEnd":
            raw = f.get("finish_reason")
            if isinstance(raw, str):
                self._final(cand, raw, out)
            self._end(out, raw if isinstance(raw, str) else None)
        elif emit == "StreamError":
            self._error(f, out)

    def _tool_started(self, f: Mapping[str, Any], cand: int, out: list[StreamEvent],
                      only_if_named: bool = False) -> None:
        call_id = f.get("tool_call_id")
        name = f.get("tool_name")
        if only_if_named and not (call_id or name):
            return
        index = f.get("index")
        args = f.get("arguments")
        acc = self._cand(cand)
        tool = acc.tool_start(call_id, name, index, args, f.get("signature"))
        if tool is not None:
            out.append(ToolCallStarted(tool.id, tool.name, index, cand))
        if isinstance(args, dict):  # the call arrived complete
            call = acc.tool_end(index, call_id if call_id else None) if (
                index is not None or call_id) else (acc.tools[-1].finish() if acc.tools else None)
            if call is not None:
                out.append(ToolCallEnded(call, index, cand))

    def _tool_args(self, fragment: str, index: Any, call_id: Any, cand: int,
                   out: list[StreamEvent]) -> None:
        acc = self._cand(cand)
        created = acc.tool_args(fragment, index, call_id)
        if created is not None:
            out.append(ToolCallStarted(created.id, created.name, index, cand))
        out.append(PartialToolCall(fragment, index, call_id, cand))

    def _metadata(self, f: Mapping[str, Any], cand: int, out: list[StreamEvent]) -> None:
        raw = f.get("usage")
        usage = None
        if isinstance(raw, dict):
            merged = dict(self._raw_usage or {})
            merged.update({k: v for k, v in raw.items() if v is not None})
            self._raw_usage = merged
            usage = normalize_usage(merged)
        model = f.get("model")
        rid = f.get("response_id")
        if isinstance(model, str):
            self.model = model
        if isinstance(rid, str):
            self.response_id = rid
        stop = f.get("stop_reason") or f.get("finish_reason")
        if isinstance(stop, str):
            self._cand(cand).raw_finish_reason = stop
        if usage is not None or isinstance(model, str) or isinstance(rid, str):
            out.append(Metadata(usage, model if isinstance(model, str) else None,
                                rid if isinstance(rid, str) else None))

    def _close_tools(self, acc: CandidateAccumulator, out: list[StreamEvent]) -> None:
        for tool in acc.open_tools():
            out.append(ToolCallEnded(tool.finish(), None, acc.index))

    def _final(self, cand: int, raw: str | None, out: list[StreamEvent]) -> None:
        acc = self._cand(cand)
        if acc.finished and (raw is None or raw == acc.raw_finish_reason):
            return  # a provider repeating its finish chunk (OpenRouter does) emits once
        if raw is not None:
            acc.raw_finish_reason = raw
        self._close_tools(acc, out)
        acc.finished = True
        out.append(FinalCandidate(
            normalize_finish(acc.raw_finish_reason, self._plan.termination, bool(acc.tools)),
            acc.raw_finish_reason, cand))

    def _end(self, out: list[StreamEvent], raw: str | None) -> None:
        if self._ended:
            return
        for acc in list(self._cands.values()):
            if not acc.finished:
                self._final(acc.index, None, out)
        self._ended = True
        first = self._cands.get(0)
        reason = raw
        if first is not None:
            reason = normalize_finish(first.raw_finish_reason, self._plan.termination,
                                      bool(first.tools)) if raw is None else raw
        out.append(StreamEnd(reason))

    def _error(self, f: Mapping[str, Any], out: list[StreamEvent]) -> None:
        err = f.get("error")
        body = {"error": err} if err is not None else {"error": dict(f)}
        status = None
        if isinstance(err, dict):
            code = err.get("code")
            if isinstance(code, int) and 400 <= code < 600:
                status = code
            elif isinstance(code, str) and code.isdigit():
                status = int(code)
        spec = self._plan.spec
        exc = provider_error(
            status=status, body=body, provider=spec.provider,
            by_error_code=spec.error_by_code, by_http_status=spec.error_by_status,
        )
        if self.error is None:
            self.error = exc
        out.append(StreamError(exc.code, exc.message, err))

    # -- output -------------------------------------------------------------------
    def response(self) -> ChatResponse:
        """The response assembled so far (complete after :meth:`finish`)."""
        cands = [self._cands[i].build(self._plan.termination) for i in sorted(self._cands)]
        if not cands:
            cands = [CandidateAccumulator(0).build(self._plan.termination)]
        usage = normalize_usage(self._raw_usage) if self._raw_usage else None
        return ChatResponse(cands, usage, self.model, self.response_id)


def rule_specs(rules: Sequence[Mapping[str, Any]]) -> tuple[RuleSpec, ...]:
    """Rules from plain dicts (``fields`` or v2 ``extract``)."""
    return tuple(
        RuleSpec(str(r["match"]), str(r["emit"]), dict(r.get("fields") or r.get("extract") or {}),
                 r.get("foreach"))
        for r in rules
    )
