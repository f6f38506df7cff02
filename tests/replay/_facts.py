"""The facts of a provider request body that must survive a round trip through the client.

The same reader runs on the recorded body and on the body the client sent, so the
two can be compared field by field: model, stream flag, message roles, where the
system prompt goes, tool names, tool choice, max tokens (value and field name) and
temperature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Body = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class WireFacts:
    model: str | None
    stream: bool
    roles: tuple[str, ...]
    system_at: str | None
    """Where the system prompt travels: ``messages``, ``system`` or ``systemInstruction``."""
    system: tuple[str, ...]
    tools: tuple[str, ...]
    tool_choice: str | None
    max_tokens: int | None
    max_tokens_field: str | None
    temperature: float | None
    stream_usage: bool | None
    """Chat Completions streams: ``stream_options.include_usage``."""
    tool_turn_reasoning: tuple[tuple[str, str] | None, ...] = ()
    """Chat Completions: per assistant turn that called tools, the reasoning it carries
    back as ``(field, text)`` (DeepSeek answers 400 when ``reasoning_content`` is missing)."""


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))


def _max_tokens(body: Body, names: tuple[str, ...]) -> tuple[int | None, str | None]:
    for name in names:
        if body.get(name) is not None:
            return int(body[name]), name
    return None, None


def _function_tools(tools: Any) -> tuple[str, ...]:
    names = []
    for tool in tools or []:
        if tool.get("type") == "function":
            names.append(str(tool["function"]["name"]))
        else:  # a provider tool: named by its type
            names.append(str(tool.get("type")))
    return tuple(names)


def _tool_turn_reasoning(messages: Any) -> tuple[tuple[str, str] | None, ...]:
    out: list[tuple[str, str] | None] = []
    for m in messages:
        if m.get("role") != "assistant" or not m.get("tool_calls"):
            continue
        found = None
        for field in ("reasoning_content", "reasoning"):
            if isinstance(m.get(field), str) and m[field]:
                found = (field, str(m[field]))
                break
        out.append(found)
    return tuple(out)


def chat_completions(body: Body) -> WireFacts:
    messages = body.get("messages") or []
    roles = tuple("system" if m.get("role") == "developer" else str(m.get("role"))
                  for m in messages)
    system = tuple(_text(m.get("content")) for m in messages
                   if m.get("role") in ("system", "developer"))
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        choice = str(choice["function"]["name"])
    value, name = _max_tokens(body, ("max_completion_tokens", "max_tokens"))
    stream = bool(body.get("stream"))
    options = body.get("stream_options")
    usage = bool(options.get("include_usage")) if isinstance(options, dict) else None
    return WireFacts(
        model=body.get("model"), stream=stream, roles=roles,
        system_at="messages" if system else None, system=system,
        tools=_function_tools(body.get("tools")), tool_choice=choice,
        max_tokens=value, max_tokens_field=name, temperature=body.get("temperature"),
        stream_usage=usage if stream else None,
        tool_turn_reasoning=_tool_turn_reasoning(messages),
    )


def messages(body: Body) -> WireFacts:
    system = body.get("system")
    choice = body.get("tool_choice")
    kind: str | None = None
    if isinstance(choice, dict):
        kind = str(choice.get("type"))
        kind = {"any": "required", "tool": choice.get("name")}.get(kind, kind)
    value, name = _max_tokens(body, ("max_tokens",))
    return WireFacts(
        model=body.get("model"), stream=bool(body.get("stream")),
        roles=tuple(str(m.get("role")) for m in body.get("messages") or []),
        system_at="system" if system is not None else None,
        system=(_text(system),) if system is not None else (),
        tools=tuple(str(t.get("name")) for t in body.get("tools") or []),
        tool_choice=kind, max_tokens=value, max_tokens_field=name,
        temperature=body.get("temperature"), stream_usage=None,
    )


def generate_content(body: Body, path: str) -> WireFacts:
    model = path.split("/models/", 1)[1].split(":", 1)[0] if "/models/" in path else None
    instruction = body.get("systemInstruction")
    declared: list[str] = []
    for tool in body.get("tools") or []:
        if "functionDeclarations" in tool:
            declared.extend(str(d["name"]) for d in tool["functionDeclarations"])
        else:
            declared.extend(sorted(tool))
    choice: str | None = None
    config = (body.get("toolConfig") or {}).get("functionCallingConfig")
    if config is not None:
        mode = str(config.get("mode", "AUTO")).upper()
        allowed = config.get("allowedFunctionNames")
        if mode in ("AUTO", "NONE"):
            choice = mode.lower()
        elif allowed is None or sorted(allowed) == sorted(declared):
            choice = "required"
        else:
            choice = ",".join(sorted(allowed))
    gen = body.get("generationConfig") or {}
    value, name = _max_tokens(gen, ("maxOutputTokens",))
    return WireFacts(
        model=model, stream=":streamGenerateContent" in path,
        roles=tuple(str(c.get("role", "user")) for c in body.get("contents") or []),
        system_at="systemInstruction" if instruction is not None else None,
        system=(_text(instruction.get("parts")),) if instruction is not None else (),
        tools=tuple(declared), tool_choice=choice, max_tokens=value,
        max_tokens_field=f"generationConfig.{name}" if name else None,
        temperature=gen.get("temperature"), stream_usage=None,
    )


def chat_v2(body: Body) -> WireFacts:
    msgs = body.get("messages") or []
    system = tuple(_text(m.get("content")) for m in msgs if m.get("role") == "system")
    choice = body.get("tool_choice")
    value, name = _max_tokens(body, ("max_tokens",))
    return WireFacts(
        model=body.get("model"), stream=bool(body.get("stream")),
        roles=tuple(str(m.get("role")) for m in msgs),
        system_at="messages" if system else None, system=system,
        tools=_function_tools(body.get("tools")),
        tool_choice=str(choice).lower() if choice is not None else None,
        max_tokens=value, max_tokens_field=name, temperature=body.get("temperature"),
        stream_usage=None,
    )


def wire_facts(api: str, body: Body, path: str) -> WireFacts:
    if api == "chat_completions":
        return chat_completions(body)
    if api == "messages":
        return messages(body)
    if api == "generate_content":
        return generate_content(body, path)
    if api == "chat_v2":
        return chat_v2(body)
    raise ValueError(f"unknown api {api!r}")
