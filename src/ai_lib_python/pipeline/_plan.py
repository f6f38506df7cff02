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

from ai_lib_python._json import loads
from ai_lib_python.errors import ProtocolError, ProviderError, StreamDecodeError, provider_error
from ai_lib_python.pipeline._accumulate import CandidateAccumulator, normalize_finish
from ai_lib_python.pipeline._decode import DONE, FrameDecoder, make_decoder
from ai_lib_python.protocol._expr import (
    CodeGen,
    Condition,
    PathNode,
    Step,
    compile_condition,
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
    text_tool_fallback: bool = False


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


# Per emit: the handler method of StreamState and its parameters, each with the
# manifest field names that feed it (v1 and v2 spellings).
_HANDLERS: dict[str, tuple[str, tuple[tuple[str, ...], ...]]] = {
    "PartialContentDelta": ("on_content", (("content",),)),
    "ThinkingDelta": ("on_thinking", (("thinking",), ("signature",), ("redacted",),
                                      ("new_block",))),
    "ToolCallStarted": ("on_tool_started", (("tool_call_id", "id"), ("tool_name", "name"),
                                            ("index",), ("arguments",), ("signature",))),
    "PartialToolCall": ("on_tool_partial", (("arguments",), ("index",),
                                            ("tool_call_id", "id"), ("tool_calls",))),
    "ToolCallEnded": ("on_tool_ended", (("index",), ("tool_call_id", "id"))),
    "Metadata": ("on_metadata", (("usage",), ("model",), ("response_id",),
                                 ("stop_reason", "finish_reason"))),
    "UsageReport": ("on_metadata", (("usage",), ("model",), ("response_id",),
                                    ("stop_reason", "finish_reason"))),
    "FinalCandidate": ("on_final", (("finish_reason",), ("candidate_index",))),
    "StreamEnd": ("on_end", (("finish_reason",),)),
}


def _field_source(gen: CodeGen, value: Any) -> str:
    if isinstance(value, str) and value[:1] in ("$", "@"):
        gen.lazy_fields = True
        try:
            return gen.value(value)
        finally:
            gen.lazy_fields = False
    return gen.const(value)


def _rule_source(gen: CodeGen, rule: RuleSpec) -> tuple[str, str]:
    """The condition and the handler call of one rule."""
    cond = gen.condition(rule.match)
    if rule.emit == "StreamError":
        items = ", ".join(f"{k!r}: {_field_source(gen, v)}" for k, v in rule.fields.items())
        return cond, f"st.on_error({{{items}}}, out)"
    method, params = _HANDLERS[rule.emit]
    args = []
    for names in params:
        src = "None"
        for name in names:
            if name in rule.fields:
                src = _field_source(gen, rule.fields[name])
                break
        args.append(src)
    return cond, f"st.{method}({', '.join(args)}, cand, out)"


def compile_event_map(
    provider: str,
    rules: Sequence[RuleSpec],
    *,
    selector: str | None = None,
    stop: str | None = None,
    fan_key: str | None = None,
    fan_id: str = "index",
) -> tuple[Callable[..., None], Callable[..., None]]:
    """Compile a manifest's stream handling into two generated functions.

    ``process(st, frame, out)`` applies the frame selector and the stop condition,
    takes the single-candidate fast path, and evaluates every event-map rule in
    order, calling the StreamState handler of each rule that matches with its
    fields as positional arguments; frames with several candidates go to
    ``st.fan_out``. ``map(st, frame, cand, out)`` evaluates the rules alone, for one
    candidate's sub-frame. Root paths are read once per frame into locals.
    """
    gen = CodeGen()
    gen.inline_root = True
    rules_src: list[str] = ["    cur = root"]
    compiled: list[tuple[str | None, str, str]] = []  # (foreach, condition, call)
    for raw in rules:
        if raw.emit not in EMITS:
            raise ProtocolError(
                f"unknown event type {raw.emit!r}; expected one of {sorted(EMITS)}",
                source=provider, path="streaming.event_map",
            )
        compiled.append((_infer_foreach(raw).foreach, "", ""))
    # Consecutive rules over the same elements share one loop, so events follow the
    # elements' order (Gemini parts: thought, text, call) and each element's fields
    # are read once.
    i = 0
    while i < len(rules):
        foreach = compiled[i][0]
        j = i
        while j < len(rules) and compiled[j][0] == foreach:
            j += 1
        group = [_infer_foreach(r) for r in rules[i:j]]
        if foreach is None:
            for rule in group:
                cond, call = _rule_source(gen, rule)
                rules_src += [f"    if {cond}:", f"        {call}"]
        else:
            gen.elem_locals, gen.elem_preamble = {}, []
            body: list[str] = []
            for rule in group:
                cond, call = _rule_source(gen, rule)
                body += [f"        if {cond}:", f"            {call}"]
            reads = gen.render(gen.elem_preamble, "        ")
            gen.elem_locals = None
            rules_src += [f"    for cur in {gen.find_source(foreach)}:", *reads, *body,
                          "    cur = root"]
        i = j
    map_preamble = gen.render(gen.preamble, "    ")
    head: list[str] = ["    cur = root"]
    if selector:
        head += [f"    if not {gen.condition(selector)}:", "        return None"]
    if stop:
        head += [f"    if not st.completed and {gen.condition(stop)}:",
                 "        st.completed = True"]
    if fan_key:
        arr = gen.value(f"$.{fan_key}") if fan_key.isidentifier() else "None"
        head += [
            f"    _arr = {arr}",
            "    if type(_arr) is list and len(_arr) > 1:",
            "        st.fan_out(root, _arr, out)",
            "        return None",
            "    cand = 0",
            "    if type(_arr) is list and _arr and type(_arr[0]) is dict:",
            f"        cand = _arr[0].get({fan_id!r}, 0)",
            "        if type(cand) is not int:",
            "            cand = 0",
        ]
    else:
        head.append("    cand = 0")
    source = "\n".join([
        "def _process(st, root, out):", *gen.render(gen.preamble, "    "), *head, *rules_src,
        "    return None",
        "", "def _map(st, root, cand, out):", *map_preamble, *rules_src, "    return None",
    ])
    namespace = gen.build_module(source)
    return namespace["_process"], namespace["_map"]


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
        self.fan_key: str | None = None
        self.fan_id: str = "index"
        if spec.candidate_path:
            node = parse_path(spec.candidate_path)
            steps = node.steps
            if (len(steps) >= 2 and steps[0].kind == "key" and steps[1].kind == "wild"):
                self.fan_key = str(steps[0].key)
                if len(steps) == 3 and steps[2].kind == "key":
                    self.fan_id = str(steps[2].key)
        self.process, self.map_frame = compile_event_map(
            spec.provider, spec.rules, selector=spec.frame_selector,
            stop=spec.stop_condition, fan_key=self.fan_key, fan_id=self.fan_id)

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


_DEFAULT_USAGE_PATHS = {
    "openai_style": "$.usage",
    "gemini_style": "$.usageMetadata",
    "cohere_v2": "$.delta.usage",
}


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
    if not any(r.emit in ("Metadata", "UsageReport") for r in rules):
        # Usage is where the manifest says, else where the wire format puts it.
        path = (getattr(s, "usage_path", None) or getattr(s, "extra_metadata_path", None)
                if s is not None else None) or _DEFAULT_USAGE_PATHS.get(
                    str(getattr(manifest, "payload_format", "")))
        if path:
            path = path if path.startswith("$") else "$." + path
            rules.append(RuleSpec(f"exists({path})", "Metadata", {"usage": path}))
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
        text_tool_fallback=bool(getattr(manifest, "text_tool_fallback", False)),
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
        step = self.step
        for item in self._decoder.split(chunk):
            step(item, out)
        return out

    def split(self, chunk: bytes) -> list[Any]:
        """Cut ``chunk`` into raw frame items without parsing them; hand each to
        :meth:`step` in order. (A consumer that yields each item's events before
        stepping the next keeps one parsed frame alive at a time.)"""
        return self._decoder.split(chunk)

    def step(self, item: Any, out: list[StreamEvent]) -> None:
        """Parse and map one item of :meth:`split`, appending its events to ``out``."""
        if type(item) is bytes:  # a frame's JSON text: parsed here, one call fewer
            try:
                frame = loads(item)
            except ValueError:
                frame = self._decoder.frame(item)  # raises the decoder's own error
        else:
            frame = self._decoder.frame(item)
        if frame is DONE:
            self.done = True
            return
        self.frames += 1
        self._plan.process(self, frame, out)

    def feed_frames(self, frames: Iterable[Any]) -> list[StreamEvent]:
        """Map already-decoded frames (dicts) to events."""
        out: list[StreamEvent] = []
        for frame in frames:
            self._frame(frame, out)
        return out

    def finish(self, *, strict: bool = True) -> list[StreamEvent]:
        """End of input: flush, check completeness, close open calls, emit StreamEnd."""
        out: list[StreamEvent] = []
        for item in self._decoder.split_rest():
            self.step(item, out)
        if strict and not (self.done or self.completed or self._ended
                           or self.error is not None):
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
        self.frames += 1
        self._plan.process(self, frame, out)

    def fan_out(self, frame: dict[str, Any], arr: list[Any], out: list[StreamEvent]) -> None:
        """A frame carrying several candidates: map one sub-frame per candidate."""
        key = self._plan.fan_key
        fan_id = self._plan.fan_id
        assert key is not None
        for pos, el in enumerate(arr):
            sub = dict(frame)
            sub[key] = [el]
            idx = el.get(fan_id, pos) if type(el) is dict else pos
            self._map(sub, idx if type(idx) is int else pos, out)

    def _map(self, frame: Any, cand: int, out: list[StreamEvent]) -> None:
        self._plan.map_frame(self, frame, cand, out)

    # -- handlers called by the compiled event map ---------------------------------
    def on_content(self, text: Any, cand: int, out: list[StreamEvent]) -> None:
        if type(text) is str and text:
            self._cand(cand).text(text)
            out.append(PartialContentDelta(text, cand))

    def on_thinking(self, text: Any, sig: Any, red: Any, new_block: Any, cand: int,
                    out: list[StreamEvent]) -> None:
        text = text if isinstance(text, str) else ""
        sig = sig if isinstance(sig, str) and sig else None
        red = red if isinstance(red, str) and red else None
        if text or sig or red or new_block:
            self._cand(cand).thinking(text, sig, red, bool(new_block))
            if text or sig or red:
                out.append(ThinkingDelta(text, cand, sig, red))

    def on_tool_started(self, call_id: Any, name: Any, index: Any, args: Any, sig: Any,
                        cand: int, out: list[StreamEvent]) -> None:
        acc = self._cand(cand)
        tool = acc.tool_start(call_id, name, index, args, sig)
        if tool is not None:
            out.append(ToolCallStarted(tool.id, tool.name, index, cand))
        if isinstance(args, dict):  # the call arrived complete
            done = acc.tool_end(index, call_id) if (index is not None or call_id) else (
                acc.tools[-1].finish() if acc.tools else None)
            if done is not None:
                out.append(ToolCallEnded(done, index, cand))

    def on_tool_partial(self, args: Any, index: Any, call_id: Any, deltas: Any, cand: int,
                        out: list[StreamEvent]) -> None:
        if isinstance(deltas, list):  # v2 form: the raw OpenAI tool_calls deltas
            for d in deltas:
                if not isinstance(d, dict):
                    continue
                fn = d.get("function") or {}
                if d.get("id") or fn.get("name"):
                    self.on_tool_started(d.get("id"), fn.get("name"), d.get("index"), None,
                                         None, cand, out)
                piece = fn.get("arguments")
                if isinstance(piece, str) and piece:
                    self._tool_args(piece, d.get("index"), d.get("id"), cand, out)
        elif isinstance(args, str) and args:
            self._tool_args(args, index, call_id, cand, out)

    def on_tool_ended(self, index: Any, call_id: Any, cand: int, out: list[StreamEvent]) -> None:
        call = self._cand(cand).tool_end(index, call_id)
        if call is not None:
            out.append(ToolCallEnded(call, index, cand))

    def on_final(self, raw: Any, idx: Any, cand: int, out: list[StreamEvent]) -> None:
        self._final(cand if not isinstance(idx, int) else idx,
                    raw if isinstance(raw, str) else None, out)

    def on_end(self, raw: Any, cand: int, out: list[StreamEvent]) -> None:
        if isinstance(raw, str):
            self._final(cand, raw, out)
        self._end(out, raw if isinstance(raw, str) else None)

    def on_error(self, fields: dict[str, Any], out: list[StreamEvent]) -> None:
        self._error(fields, out)

    def _tool_args(self, fragment: str, index: Any, call_id: Any, cand: int,
                   out: list[StreamEvent]) -> None:
        acc = self._cand(cand)
        created = acc.tool_args(fragment, index, call_id)
        if created is not None:
            out.append(ToolCallStarted(created.id, created.name, index, cand))
        out.append(PartialToolCall(fragment, index, call_id, cand))

    def on_metadata(self, raw: Any, model: Any, rid: Any, stop: Any, cand: int,
                    out: list[StreamEvent]) -> None:
        usage = None
        if isinstance(raw, dict):
            merged = dict(self._raw_usage or {})
            merged.update({k: v for k, v in raw.items() if v is not None})
            self._raw_usage = merged
            usage = normalize_usage(merged)
        if isinstance(model, str):
            self.model = model
        if isinstance(rid, str):
            self.response_id = rid
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
            code = err.get("status_code", err.get("code"))
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
        response = ChatResponse(cands, usage, self.model, self.response_id)
        if self._plan.spec.text_tool_fallback:
            from ai_lib_python.wire._text_tools import apply_text_tool_calls

            apply_text_tool_calls(response)
        return response


def rule_specs(rules: Sequence[Mapping[str, Any]]) -> tuple[RuleSpec, ...]:
    """Rules from plain dicts (``fields`` or v2 ``extract``)."""
    return tuple(
        RuleSpec(str(r["match"]), str(r["emit"]), dict(r.get("fields") or r.get("extract") or {}),
                 r.get("foreach"))
        for r in rules
    )
