"""Guardrails: the layer that runs input and output guards (stage 20).

Input guards see the text of the request's messages (by default those of the
``user`` and ``tool`` roles) before anything else below them; output guards see
the answer's text: the whole content of each candidate, or a stream's text
deltas, released exactly as guarding the whole text would (see ``_span``). Held
back text is flushed when the candidate or the stream ends. Thinking text and
tool-call arguments are not guarded.

Every finding is recorded in ``CallStats.extra["guardrails"]`` as a dict (rule,
kind, action, direction, offset); ``warn`` also logs it on the
``ai_lib_python.guardrails`` logger and ``block`` raises GuardrailViolation. A
redacted answer's ``raw`` provider body is dropped, as it holds the original text.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing
from typing import Any

from ai_lib_python.client._assemble import STAGE_GUARDRAILS
from ai_lib_python.client._context import CallContext, ChatHandler, EventBatch
from ai_lib_python.errors import ConfigurationError, GuardrailViolation
from ai_lib_python.guardrails._base import Finding, Guard, Scanner
from ai_lib_python.types import (
    CallStats,
    ChatRequest,
    ChatResponse,
    FinalCandidate,
    Message,
    PartialContentDelta,
    StreamEnd,
    TextBlock,
    ToolResultBlock,
)

logger = logging.getLogger("ai_lib_python.guardrails")
_ROLES = frozenset(("system", "user", "assistant", "tool"))


def report(findings: Iterable[Finding], direction: str, stats: CallStats | None) -> None:
    """Record findings; log the warnings; raise for the first block."""
    for f in findings:
        record: dict[str, Any] = {"rule": f.rule, "kind": f.kind, "action": f.action,
                                  "direction": direction}
        if f.start is not None:
            record["offset"] = f.start
        if f.detail:
            record["detail"] = f.detail
        if stats is not None:
            stats.extra.setdefault("guardrails", []).append(record)
        if f.action == "warn":
            logger.warning("guardrail %r found %s in the %s%s", f.rule, f.kind, direction,
                           f" at offset {f.start}" if f.start is not None else "")
        elif f.action == "block":
            where = f" at offset {f.start}" if f.start is not None else ""
            detail = f" ({f.detail})" if f.detail else ""
            raise GuardrailViolation(
                f"guardrail {f.rule!r} blocked the {direction}: {f.kind}{where}{detail}",
                rule=f.rule, direction=direction, kind=f.kind, offset=f.start)


def _with_text(message: Message, text: str) -> Message:
    if isinstance(message.content, str):
        return dataclasses.replace(message, content=text)
    blocks: list[Any] = []
    placed = False
    for block in message.content:
        if isinstance(block, TextBlock):
            if not placed:
                blocks.append(TextBlock(text))
                placed = True
            continue
        blocks.append(block)
    if not placed and text:
        blocks.append(TextBlock(text))
    return dataclasses.replace(message, content=tuple(blocks))


class Guardrails:
    """Input and output guards, as a layer of the execution path::

        Guardrails(input=[PiiGuard(), LengthGuard(20_000)],
                   output=[PiiGuard(), KeywordGuard(["internal-only"], action="block")])
    """

    stage = STAGE_GUARDRAILS

    def __init__(self, *, input: Iterable[Guard] = (), output: Iterable[Guard] = (),
                 input_roles: Iterable[str] = ("user", "tool")) -> None:
        self.input = tuple(input)
        self.output = tuple(output)
        for guard in (*self.input, *self.output):
            if not isinstance(guard, Guard):
                raise ConfigurationError(f"{guard!r} is not a guard (PiiGuard, RegexGuard, ...)")
        self.input_roles = frozenset(input_roles)
        if not self.input_roles <= _ROLES:
            raise ConfigurationError(f"unknown roles {sorted(self.input_roles - _ROLES)}")

    def __repr__(self) -> str:
        return f"Guardrails(input={list(self.input)!r}, output={list(self.output)!r})"

    def wrap(self, inner: ChatHandler) -> ChatHandler:
        if not self.input and not self.output:
            return inner
        return _GuardedHandler(inner, self)

    # -- whole texts ----------------------------------------------------------------
    def guard_text(self, text: str, direction: str = "output",
                   stats: CallStats | None = None) -> str:
        """Run the input or output guards over one text; returns the guarded text."""
        for guard in self.input if direction == "input" else self.output:
            outcome = guard.check(text)
            if outcome.findings:
                report(outcome.findings, direction, stats)
                text = outcome.text
        return text

    def guard_request(self, request: ChatRequest, stats: CallStats | None = None) -> ChatRequest:
        """The request with the input guards applied to its messages' text."""
        if not self.input:
            return request
        changed = False
        messages = []
        for message in request.messages:
            new = self._guard_message(message, stats) if message.role in self.input_roles else (
                message)
            changed = changed or new is not message
            messages.append(new)
        return request.with_(messages=tuple(messages)) if changed else request

    def _guard_message(self, message: Message, stats: CallStats | None) -> Message:
        if isinstance(message.content, str):
            text = self.guard_text(message.content, "input", stats)
            return message if text == message.content else dataclasses.replace(
                message, content=text)
        blocks: list[Any] = []
        changed = False
        for block in message.content:
            if isinstance(block, TextBlock):
                text = self.guard_text(block.text, "input", stats)
                if text != block.text:
                    block, changed = TextBlock(text), True
            elif isinstance(block, ToolResultBlock):
                text = self.guard_text(block.content, "input", stats)
                if text != block.content:
                    block, changed = dataclasses.replace(block, content=text), True
            blocks.append(block)
        return dataclasses.replace(message, content=tuple(blocks)) if changed else message

    def guard_response(self, response: ChatResponse,
                       stats: CallStats | None = None) -> ChatResponse:
        """The response with the output guards applied to each candidate's text."""
        if not self.output:
            return response
        changed = False
        for cand in response.candidates:
            text = cand.content
            if not text:
                continue
            guarded = self.guard_text(text, "output", stats)
            if guarded != text:
                cand.message = _with_text(cand.message, guarded)
                changed = True
        if changed:
            response.raw = None
        return response


class _StreamGuard:
    """Per-stream state: one chain of scanners per candidate, and the text released."""

    __slots__ = ("chains", "guards", "stats", "texts")

    def __init__(self, guards: tuple[Guard, ...], stats: CallStats) -> None:
        self.guards = guards
        self.stats = stats
        self.chains: dict[int, list[Scanner]] = {}
        self.texts: dict[int, list[str]] = {}

    def feed(self, index: int, text: str) -> str:
        chain = self.chains.get(index)
        if chain is None:
            chain = self.chains[index] = [g.scanner() for g in self.guards]
            self.texts.setdefault(index, [])
        for scanner in chain:
            text, findings = scanner.feed(text)
            if findings:
                report(findings, "output", self.stats)
            if not text:
                return ""
        self.texts[index].append(text)
        return text

    def finish(self, index: int) -> str:
        chain = self.chains.pop(index, None)
        if chain is None:
            return ""
        text = ""
        for scanner in chain:
            released, findings = scanner.feed(text) if text else ("", [])
            if findings:
                report(findings, "output", self.stats)
            tail, findings = scanner.finish()
            if findings:
                report(findings, "output", self.stats)
            text = released + tail
        if text:
            self.texts[index].append(text)
        return text

    def patch(self, ctx: CallContext) -> None:
        """Make ``stream.response`` carry the released text, not the provider's."""
        inner = ctx.response_factory
        texts = self.texts

        def factory() -> ChatResponse:
            response = inner() if inner is not None else ChatResponse([])
            for cand in response.candidates:
                released = "".join(texts.get(cand.index, ()))
                if released != cand.content:
                    cand.message = _with_text(cand.message, released)
                    response.raw = None
            return response

        ctx.response_factory = factory


class _GuardedHandler:
    def __init__(self, inner: ChatHandler, guardrails: Guardrails) -> None:
        self._inner = inner
        self._g = guardrails

    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        request = self._g.guard_request(request, ctx.stats)
        response = await self._inner.execute(request, ctx)
        return self._g.guard_response(response, ctx.stats)

    def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[EventBatch]:
        request = self._g.guard_request(request, ctx.stats)
        events = self._inner.stream(request, ctx)
        if not self._g.output:
            return events
        return self._guarded(events, ctx)

    async def _guarded(self, events: AsyncIterator[EventBatch],
                       ctx: CallContext) -> AsyncIterator[EventBatch]:
        state = _StreamGuard(self._g.output, ctx.stats)
        patched = False
        async with aclosing(events) as inner:  # type: ignore[type-var]
            async for batch in inner:
                if not patched:
                    state.patch(ctx)
                    patched = True
                out: EventBatch = []
                try:
                    for event in batch:
                        if isinstance(event, PartialContentDelta):
                            text = state.feed(event.candidate_index, event.content)
                            if text:
                                out.append(PartialContentDelta(text, event.candidate_index))
                            continue
                        if isinstance(event, FinalCandidate):
                            tail = state.finish(event.candidate_index)
                            if tail:
                                out.append(PartialContentDelta(tail, event.candidate_index))
                        elif isinstance(event, StreamEnd):
                            for index in list(state.chains):
                                tail = state.finish(index)
                                if tail:
                                    out.append(PartialContentDelta(tail, index))
                        out.append(event)
                except Exception:
                    # What was released before the violation reaches the caller first,
                    # whether or not the events shared a network read.
                    if out:
                        yield out
                    raise
                if out:
                    yield out
        rest: EventBatch = []
        for index in list(state.chains):
            tail = state.finish(index)
            if tail:
                rest.append(PartialContentDelta(tail, index))
        if rest:
            yield rest

    async def aclose(self) -> None:
        await self._inner.aclose()
