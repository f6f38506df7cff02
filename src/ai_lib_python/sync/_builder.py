"""The synchronous ChatRequestBuilder: the same setters as the async one, then a
blocking ``execute()`` or a ``stream()`` to iterate with a plain ``for``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ai_lib_python.client import CancelToken
from ai_lib_python.client import ChatRequestBuilder as AsyncChatRequestBuilder
from ai_lib_python.sync._runner import RUNNER
from ai_lib_python.sync._stream import ChatStream
from ai_lib_python.sync._structured import StructuredRequest
from ai_lib_python.types import (
    ChatRequest,
    ChatResponse,
    ContentBlock,
    ImageBlock,
    Message,
    ToolChoice,
)

if TYPE_CHECKING:
    from ai_lib_python.sync._client import AiClient

_T = TypeVar("_T")


class ChatRequestBuilder:
    """Build a chat request, then ``execute()`` or ``stream()`` it.

    Every setter checks its input at once (the checks of the async builder) and
    returns the builder, so calls chain.
    """

    __slots__ = ("_inner",)

    def __init__(self, client: AiClient | None = None, model: str = "") -> None:
        self._inner = AsyncChatRequestBuilder(
            client.async_client if client is not None else None, model)

    # -- messages -----------------------------------------------------------------
    def system(self, text: str) -> ChatRequestBuilder:
        """Add a system message."""
        self._inner.system(text)
        return self

    def user(self, content: str | Sequence[ContentBlock], *,
             images: Iterable[str | ImageBlock] = ()) -> ChatRequestBuilder:
        """Add a user message: text or content blocks, plus images by URL or block."""
        self._inner.user(content, images=images)
        return self

    def assistant(self, content: str | Sequence[ContentBlock] = "", *,
                  tool_calls: Sequence[Any] = ()) -> ChatRequestBuilder:
        """Add an assistant turn, with the tool calls it made."""
        self._inner.assistant(content, tool_calls=tool_calls)
        return self

    def tool_result(self, tool_call_id: str, content: str, *, name: str | None = None,
                    is_error: bool = False) -> ChatRequestBuilder:
        """Add the result of a tool call."""
        self._inner.tool_result(tool_call_id, content, name=name, is_error=is_error)
        return self

    def message(self, message: Message) -> ChatRequestBuilder:
        """Add one Message."""
        self._inner.message(message)
        return self

    def messages(self, messages: Iterable[Message | dict[str, Any]]) -> ChatRequestBuilder:
        """Add Messages or ``{"role": ..., "content": ...}`` dicts."""
        self._inner.messages(messages)
        return self

    # -- parameters ---------------------------------------------------------------
    def temperature(self, value: float) -> ChatRequestBuilder:
        """Sampling temperature, 0 to 2."""
        self._inner.temperature(value)
        return self

    def max_tokens(self, value: int) -> ChatRequestBuilder:
        """The most tokens to generate."""
        self._inner.max_tokens(value)
        return self

    def top_p(self, value: float) -> ChatRequestBuilder:
        """Nucleus sampling, 0 to 1."""
        self._inner.top_p(value)
        return self

    def top_k(self, value: int) -> ChatRequestBuilder:
        """Sample from the ``value`` most likely tokens."""
        self._inner.top_k(value)
        return self

    def stop(self, *sequences: str) -> ChatRequestBuilder:
        """Stop sequences."""
        self._inner.stop(*sequences)
        return self

    def frequency_penalty(self, value: float) -> ChatRequestBuilder:
        """Frequency penalty, -2 to 2."""
        self._inner.frequency_penalty(value)
        return self

    def presence_penalty(self, value: float) -> ChatRequestBuilder:
        """Presence penalty, -2 to 2."""
        self._inner.presence_penalty(value)
        return self

    def seed(self, value: int) -> ChatRequestBuilder:
        """Seed for providers that sample deterministically."""
        self._inner.seed(value)
        return self

    def n(self, value: int) -> ChatRequestBuilder:
        """Number of candidates to generate."""
        self._inner.n(value)
        return self

    def reasoning(self, effort: str | None = None, *,
                  budget_tokens: int | None = None) -> ChatRequestBuilder:
        """Reasoning effort (minimal, low, medium, high) and/or a thinking budget."""
        self._inner.reasoning(effort, budget_tokens=budget_tokens)
        return self

    def tools(self, tools: Iterable[Any]) -> ChatRequestBuilder:
        """Offer tools: ToolDefinitions, typed functions, Pydantic models or dicts."""
        self._inner.tools(tools)
        return self

    def tool(self, tool: Any) -> ChatRequestBuilder:
        """Offer one tool."""
        self._inner.tool(tool)
        return self

    def tool_choice(self, choice: ToolChoice) -> ChatRequestBuilder:
        """``"auto"``, ``"none"``, ``"required"`` or the name of one tool."""
        self._inner.tool_choice(choice)
        return self

    def parallel_tool_calls(self, enabled: bool = True) -> ChatRequestBuilder:
        """Allow several tool calls in one turn."""
        self._inner.parallel_tool_calls(enabled)
        return self

    def response_format(self, fmt: dict[str, Any]) -> ChatRequestBuilder:
        """``{"type": "json_object"}`` or ``{"type": "json_schema", ...}``."""
        self._inner.response_format(fmt)
        return self

    def json_mode(self) -> ChatRequestBuilder:
        """Ask for a JSON object."""
        self._inner.json_mode()
        return self

    def header(self, name: str, value: str) -> ChatRequestBuilder:
        """An extra HTTP header for this request."""
        self._inner.header(name, value)
        return self

    def extra_body(self, body: dict[str, Any]) -> ChatRequestBuilder:
        """Provider-specific fields merged into the request body."""
        self._inner.extra_body(body)
        return self

    def timeout(self, seconds: float) -> ChatRequestBuilder:
        """A total timeout for this request."""
        self._inner.timeout(seconds)
        return self

    def user_id(self, user: str) -> ChatRequestBuilder:
        """An end-user id for the provider's abuse monitoring."""
        self._inner.user_id(user)
        return self

    def cancel_token(self, token: CancelToken) -> ChatRequestBuilder:
        """Cancel this call from another thread with ``token.cancel()``."""
        self._inner.cancel_token(token)
        return self

    def output(self, output_type: type[_T], *, name: str | None = None, strict: bool = True,
               repair_attempts: int = 1) -> StructuredRequest[_T]:
        """Ask for an answer of ``output_type`` (a Pydantic model, dataclass, TypedDict,
        ``list[...]``): ``....output(Person).execute()`` returns a validated ``Person``."""
        return StructuredRequest(self._inner.output(
            output_type, name=name, strict=strict, repair_attempts=repair_attempts))

    # -- result -------------------------------------------------------------------
    def build(self) -> ChatRequest:
        """The immutable ChatRequest."""
        return self._inner.build()

    def execute(self) -> ChatResponse:
        """Send the request and wait for the whole response."""
        return RUNNER.run(self._inner.execute())

    def stream(self) -> ChatStream:
        """Stream the request: ``with builder.stream() as s: for event in s: ...``."""
        return ChatStream(self._inner.stream())
