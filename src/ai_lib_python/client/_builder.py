"""ChatRequestBuilder: the fluent way to write a request. Every setter checks its
input at once, so a bad value fails before any I/O with a message that says why."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ai_lib_python.client._context import CancelToken
from ai_lib_python.errors import ConfigurationError
from ai_lib_python.types import (
    ChatRequest,
    ChatResponse,
    ContentBlock,
    ImageBlock,
    Message,
    TextBlock,
    ToolChoice,
    ToolDefinition,
)

if TYPE_CHECKING:
    from ai_lib_python.client._client import AiClient
    from ai_lib_python.client._stream import ChatStream
    from ai_lib_python.structured import StructuredRequest

_T = TypeVar("_T")


def _number(name: str, value: Any, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigurationError(f"{name} must be between {lo} and {hi}, got {value!r}")
    return float(value)


def _integer(name: str, value: Any, lo: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name} must be an integer, got {value!r}")
    if value < lo:
        raise ConfigurationError(f"{name} must be at least {lo}, got {value!r}")
    return value


def as_tool(
    tool: ToolDefinition | Callable[..., Any] | type[Any] | dict[str, Any],
) -> ToolDefinition:
    """Accept a ToolDefinition, a typed function, a Pydantic model or an OpenAI-style dict."""
    if isinstance(tool, ToolDefinition):
        return tool
    if isinstance(tool, dict):
        fn = tool.get("function", tool)
        if not isinstance(fn, dict) or "name" not in fn:
            raise ConfigurationError(f"tool dict needs a name: {tool!r}")
        return ToolDefinition(fn["name"], fn.get("description", ""),
                              fn.get("parameters") or fn.get("input_schema")
                              or {"type": "object", "properties": {}}, fn.get("strict"))
    if isinstance(tool, type) and hasattr(tool, "model_json_schema"):
        return ToolDefinition.from_model(tool)
    if callable(tool):
        return ToolDefinition.from_function(tool)
    raise ConfigurationError(f"cannot use {tool!r} as a tool")


class ChatRequestBuilder:
    """Build a chat request, then ``execute()`` or ``stream()`` it."""

    def __init__(self, client: AiClient | None = None, model: str = "") -> None:
        self._client = client
        self._model = model
        self._messages: list[Message] = []
        self._params: dict[str, Any] = {}
        self._tools: list[ToolDefinition] = []
        self._headers: dict[str, str] = {}
        self._extra: dict[str, Any] = {}
        self._cancel: CancelToken | None = None

    # -- messages -----------------------------------------------------------------
    def system(self, text: str) -> ChatRequestBuilder:
        """Add a system message."""
        self._messages.append(Message("system", _text("system", text)))
        return self

    def user(self, content: str | Sequence[ContentBlock], *,
             images: Iterable[str | ImageBlock] = ()) -> ChatRequestBuilder:
        """Add a user message: text or content blocks, plus images by URL or block."""
        blocks: list[ContentBlock] = []
        if isinstance(content, str):
            blocks.append(TextBlock(content))
        else:
            blocks.extend(content)
        for img in images:
            blocks.append(img if isinstance(img, ImageBlock) else ImageBlock(url=img))
        if len(blocks) == 1 and isinstance(blocks[0], TextBlock):
            self._messages.append(Message("user", blocks[0].text))
        else:
            self._messages.append(Message("user", tuple(blocks)))
        return self

    def assistant(self, content: str | Sequence[ContentBlock] = "", *,
                  tool_calls: Sequence[Any] = ()) -> ChatRequestBuilder:
        """Add an assistant turn, with the tool calls it made."""
        self._messages.append(Message.assistant(content, tool_calls=tool_calls))
        return self

    def tool_result(self, tool_call_id: str, content: str, *, name: str | None = None,
                    is_error: bool = False) -> ChatRequestBuilder:
        """Add the result of a tool call."""
        self._messages.append(Message.tool(tool_call_id, content, name=name, is_error=is_error))
        return self

    def message(self, message: Message) -> ChatRequestBuilder:
        """Add one Message."""
        if not isinstance(message, Message):
            raise ConfigurationError(f"expected a Message, got {type(message).__name__}")
        self._messages.append(message)
        return self

    def messages(self, messages: Iterable[Message | dict[str, Any]]) -> ChatRequestBuilder:
        """Add Messages or ``{"role": ..., "content": ...}`` dicts."""
        for m in messages:
            if isinstance(m, dict):
                if "role" not in m:
                    raise ConfigurationError(f"message dict needs a role: {m!r}")
                m = Message(m["role"], m.get("content", ""), name=m.get("name"),
                            tool_call_id=m.get("tool_call_id"))
            self.message(m)
        return self

    # -- parameters ---------------------------------------------------------------
    def temperature(self, value: float) -> ChatRequestBuilder:
        """Sampling temperature, 0 to 2."""
        self._params["temperature"] = _number("temperature", value, 0.0, 2.0)
        return self

    def max_tokens(self, value: int) -> ChatRequestBuilder:
        """The most tokens to generate."""
        self._params["max_tokens"] = _integer("max_tokens", value)
        return self

    def top_p(self, value: float) -> ChatRequestBuilder:
        """Nucleus sampling, 0 to 1."""
        self._params["top_p"] = _number("top_p", value, 0.0, 1.0)
        return self

    def top_k(self, value: int) -> ChatRequestBuilder:
        """Sample from the ``value`` most likely tokens."""
        self._params["top_k"] = _integer("top_k", value)
        return self

    def stop(self, *sequences: str) -> ChatRequestBuilder:
        """Stop sequences."""
        if not all(isinstance(s, str) and s for s in sequences):
            raise ConfigurationError("stop sequences must be non-empty strings")
        self._params["stop"] = tuple(sequences)
        return self

    def frequency_penalty(self, value: float) -> ChatRequestBuilder:
        """Frequency penalty, -2 to 2."""
        self._params["frequency_penalty"] = _number("frequency_penalty", value, -2.0, 2.0)
        return self

    def presence_penalty(self, value: float) -> ChatRequestBuilder:
        """Presence penalty, -2 to 2."""
        self._params["presence_penalty"] = _number("presence_penalty", value, -2.0, 2.0)
        return self

    def seed(self, value: int) -> ChatRequestBuilder:
        """Seed for providers that sample deterministically."""
        self._params["seed"] = _integer("seed", value, lo=-(2**63))
        return self

    def n(self, value: int) -> ChatRequestBuilder:
        """Number of candidates to generate."""
        self._params["n"] = _integer("n", value)
        return self

    def reasoning(self, effort: str | None = None, *,
                  budget_tokens: int | None = None) -> ChatRequestBuilder:
        """Reasoning effort (minimal, low, medium, high) and/or a thinking budget."""
        if effort is not None and effort not in ("minimal", "low", "medium", "high"):
            raise ConfigurationError(
                f"reasoning effort must be minimal, low, medium or high, got {effort!r}")
        if effort is not None:
            self._params["reasoning_effort"] = effort
        if budget_tokens is not None:
            self._params["thinking_budget"] = _integer("budget_tokens", budget_tokens)
        return self

    def tools(self, tools: Iterable[Any]) -> ChatRequestBuilder:
        """Offer tools: ToolDefinitions, typed functions, Pydantic models or dicts."""
        for t in tools:
            self._tools.append(as_tool(t))
        return self

    def tool(self, tool: Any) -> ChatRequestBuilder:
        """Offer one tool."""
        self._tools.append(as_tool(tool))
        return self

    def tool_choice(self, choice: ToolChoice) -> ChatRequestBuilder:
        """``"auto"``, ``"none"``, ``"required"`` or the name of one tool."""
        if not isinstance(choice, str) or not choice:
            raise ConfigurationError(
                "tool_choice must be 'auto', 'none', 'required' or a tool name")
        self._params["tool_choice"] = choice
        return self

    def parallel_tool_calls(self, enabled: bool = True) -> ChatRequestBuilder:
        """Allow several tool calls in one turn."""
        self._params["parallel_tool_calls"] = bool(enabled)
        return self

    def response_format(self, fmt: dict[str, Any]) -> ChatRequestBuilder:
        """``{"type": "json_object"}`` or ``{"type": "json_schema", ...}``."""
        if not isinstance(fmt, dict) or "type" not in fmt:
            raise ConfigurationError(
                'response_format must be a dict with a "type" (json_object or json_schema)')
        self._params["response_format"] = fmt
        return self

    def json_mode(self) -> ChatRequestBuilder:
        """Ask for a JSON object."""
        return self.response_format({"type": "json_object"})

    def output(self, output_type: type[_T], *, name: str | None = None, strict: bool = True,
               repair_attempts: int = 1) -> StructuredRequest[_T]:
        """Ask for an answer of ``output_type`` (a Pydantic model, dataclass, TypedDict,
        ``list[...]``...): ``await ....output(Person).execute()`` returns a validated
        ``Person``. An invalid answer is sent back with its validation errors up to
        ``repair_attempts`` times; see ``ai_lib_python.structured``."""
        from ai_lib_python.structured import StructuredRequest, output_spec

        return StructuredRequest(output_spec(output_type, name=name, strict=strict),
                                 build=self.build, client=self._client, cancel=self._cancel,
                                 repair_attempts=repair_attempts)

    def header(self, name: str, value: str) -> ChatRequestBuilder:
        """An extra HTTP header for this request."""
        self._headers[name] = value
        return self

    def extra_body(self, body: dict[str, Any]) -> ChatRequestBuilder:
        """Provider-specific fields merged into the request body."""
        if not isinstance(body, dict):
            raise ConfigurationError("extra_body must be a dict")
        self._extra.update(body)
        return self

    def timeout(self, seconds: float) -> ChatRequestBuilder:
        """A timeout in seconds for this request (see ``Timeout.of``)."""
        self._params["timeout"] = _number("timeout", seconds, 0.0)
        return self

    def user_id(self, user: str) -> ChatRequestBuilder:
        """An end-user id for the provider's abuse monitoring."""
        self._params["user"] = user
        return self

    def cancel_token(self, token: CancelToken) -> ChatRequestBuilder:
        """Cancel this call from another task or thread with ``token.cancel()``."""
        self._cancel = token
        return self

    # -- result -------------------------------------------------------------------
    def build(self) -> ChatRequest:
        """The immutable ChatRequest."""
        if not self._messages:
            raise ConfigurationError("a chat request needs at least one message")
        return ChatRequest(
            model=self._model,
            messages=tuple(self._messages),
            tools=tuple(self._tools),
            headers=dict(self._headers) or None,
            extra_body=dict(self._extra) or None,
            **self._params,
        )

    def _need_client(self) -> AiClient:
        if self._client is None:
            raise ConfigurationError("this builder is not attached to a client; use "
                                     "client.chat() or pass the request to client.execute()")
        return self._client

    async def execute(self) -> ChatResponse:
        """Send the request and return the whole response."""
        return await self._need_client().execute(self.build(), cancel=self._cancel)

    def stream(self) -> ChatStream:
        """Stream the request: ``async with builder.stream() as s: async for e in s``."""
        return self._need_client().stream(self.build(), cancel=self._cancel)


def _text(role: str, text: Any) -> str:
    if not isinstance(text, str):
        raise ConfigurationError(f"{role} text must be a str, got {type(text).__name__}")
    return text
