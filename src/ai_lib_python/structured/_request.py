"""StructuredRequest: a chat request whose answer is a validated Python value.

``client.chat().user(...).output(Person)`` returns one. ``execute()`` sends the
request through the client's whole execution path, validates the answer, and on a
validation failure asks again (``repair_attempts`` times, default 1) with the
validation errors sent back to the model. ``stream()`` yields progressively more
complete partial values and validates once at the end (no repair: the caller has
already seen the answer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import ValidationError

from ai_lib_python.errors import ConfigurationError, StructuredOutputError
from ai_lib_python.structured._partial import PartialJson
from ai_lib_python.structured._spec import WRAP_KEY, OutputSpec, error_lines
from ai_lib_python.types import (
    ChatRequest,
    ChatResponse,
    Message,
    PartialContentDelta,
    PartialToolCall,
    ToolCall,
    ToolCallStarted,
)

if TYPE_CHECKING:
    from ai_lib_python.client import AiClient, CancelToken, ChatStream

T = TypeVar("T")


@dataclass(slots=True)
class StructuredResult(Generic[T]):
    """A validated value with the response it came from."""

    value: T
    response: ChatResponse
    attempts: int
    raw_text: str


def _feedback(errors: list[dict[str, Any]]) -> str:
    lines = []
    for err in errors[:20]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        lines.append(f"- {loc}: {err.get('msg', '')}")
    more = f"\n- ... and {len(errors) - 20} more" if len(errors) > 20 else ""
    return ("Your answer does not match the required JSON Schema:\n" + "\n".join(lines) + more
            + "\nAnswer again with the corrected JSON only.")


def repair_messages(response: ChatResponse, raw_text: str, call: ToolCall | None,
                    errors: list[dict[str, Any]]) -> tuple[Message, ...]:
    """The turns that show the model its invalid answer and what is wrong with it."""
    feedback = _feedback(errors)
    if call is not None:
        return (Message.assistant(response.content, tool_calls=[call]),
                Message.tool(call.id, feedback, name=call.name, is_error=True))
    return (Message.assistant(raw_text or "(no answer)"), Message.user(feedback))


def _validate(spec: OutputSpec[Any], text: str) -> tuple[Any, list[dict[str, Any]]]:
    try:
        return spec.validate_json(text), []
    except (ValidationError, ValueError) as exc:
        return None, error_lines(exc)


class StructuredRequest(Generic[T]):
    """A chat request bound to an output type; ``execute()``, ``execute_with_response()``
    or ``stream()`` it."""

    def __init__(self, spec: OutputSpec[T], *, build: Callable[[], ChatRequest],
                 client: AiClient | None, cancel: CancelToken | None = None,
                 repair_attempts: int = 1) -> None:
        if isinstance(repair_attempts, bool) or not isinstance(repair_attempts, int) or (
                repair_attempts < 0):
            raise ConfigurationError(
                f"repair_attempts must be a non-negative integer, got {repair_attempts!r}")
        self.spec = spec
        self._build = build
        self._client = client
        self._cancel = cancel
        self.repair_attempts = repair_attempts

    def build(self) -> ChatRequest:
        """The ChatRequest, with the output schema as its response format."""
        return self._build().with_(response_format=self.spec.response_format)

    def _need_client(self) -> AiClient:
        if self._client is None:
            raise ConfigurationError("this builder is not attached to a client; use "
                                     "client.chat() or pass the request to client.execute()")
        return self._client

    async def execute(self) -> T:
        """The validated answer."""
        return (await self.execute_with_response()).value

    async def execute_with_response(self) -> StructuredResult[T]:
        """The validated answer with its ChatResponse (``.value``, ``.response``)."""
        client = self._need_client()
        request = self.build()
        attempts = self.repair_attempts + 1
        for attempt in range(1, attempts + 1):
            response = await client.execute(request, cancel=self._cancel)
            raw, call = self.spec.extract(response)
            value, errors = _validate(self.spec, raw)
            response.stats.extra["structured_output"] = {"attempt": attempt,
                                                         "valid": not errors}
            if not errors:
                return StructuredResult(value, response, attempt, raw)
            if attempt == attempts:
                raise StructuredOutputError(
                    f"the answer did not match {self.spec.name} after {attempt} attempt"
                    f"{'s' if attempt > 1 else ''}: {_summary(errors)}",
                    raw_text=raw, errors=errors, attempts=attempt, response=response)
            request = request.with_(
                messages=request.messages + repair_messages(response, raw, call, errors))
        raise AssertionError("unreachable")  # pragma: no cover

    def stream(self) -> StructuredStream[T]:
        """Partial values as the answer arrives; ``await s.final()`` or ``s.value`` after."""
        client = self._need_client()
        return StructuredStream(self.spec, client.stream(self.build(), cancel=self._cancel))


def _summary(errors: list[dict[str, Any]]) -> str:
    first = errors[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{loc}: {first.get('msg', '')}{more}"


class StructuredStream(Generic[T]):
    """Partial values of a streamed structured answer.

    An async context manager and async iterator: each item is the answer so far
    (a dict for an object type; for a wrapped type, the ``value`` part), yielded
    whenever it grew. When the stream ends the answer is validated: ``value`` then
    holds the result, or iteration raises :class:`StructuredOutputError`.
    """

    def __init__(self, spec: OutputSpec[T], stream: ChatStream) -> None:
        self.spec = spec
        self.stream = stream
        self._text = PartialJson()
        self._args = PartialJson()
        self._tool_index: int | None = None
        self._tool_id: str | None = None
        self._via_tool = False
        self._value: Any = None
        self._done = False
        self.partial: Any = None

    async def __aenter__(self) -> StructuredStream[T]:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stream.aclose()

    def __aiter__(self) -> StructuredStream[T]:
        return self

    async def __anext__(self) -> Any:
        if self._done:
            raise StopAsyncIteration
        async for event in self.stream:
            changed = False
            if type(event) is PartialContentDelta:
                if event.candidate_index == 0 and not self._via_tool:
                    changed = self._text.feed(event.content)
            elif type(event) is ToolCallStarted:
                if event.tool_name == self.spec.name and not self._via_tool:
                    self._via_tool = True
                    self._tool_index, self._tool_id = event.index, event.tool_call_id
            elif type(event) is PartialToolCall and self._via_tool and (
                    (event.index is not None and event.index == self._tool_index)
                    or (event.tool_call_id is not None and event.tool_call_id == self._tool_id)):
                changed = self._args.feed(event.arguments)
            if changed:
                snapshot = (self._args if self._via_tool else self._text).value()
                if self.spec.wrapped:
                    snapshot = snapshot.get(WRAP_KEY) if isinstance(snapshot, dict) else None
                if snapshot is not None:
                    self.partial = snapshot
                    return snapshot
        self._done = True
        self._finish()
        raise StopAsyncIteration

    def _finish(self) -> None:
        response = self.stream.response
        raw, _ = self.spec.extract(response)
        value, errors = _validate(self.spec, raw)
        if errors:
            raise StructuredOutputError(
                f"the streamed answer did not match {self.spec.name}: {_summary(errors)}",
                raw_text=raw, errors=errors, attempts=1, response=response)
        self._value = value

    @property
    def value(self) -> T:
        """The validated answer (once the stream has ended)."""
        if not self._done:
            raise ConfigurationError("the stream has not ended; iterate it or await final()")
        return self._value  # type: ignore[no-any-return]

    @property
    def response(self) -> ChatResponse:
        return self.stream.response

    async def final(self) -> T:
        """Drain the stream and return the validated answer."""
        async with self:
            async for _ in self:
                pass
        return self.value
