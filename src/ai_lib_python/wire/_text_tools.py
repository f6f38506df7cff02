"""Tool calls written as text, for models without native tool calling (or that slip into
a text dialect anyway), and the prompt that asks a model to use the canonical form.

Canonical form (strict mode accepts only this)::

    <tool_call>
    {"name": "shell", "arguments": {"command": "ls"}}
    </tool_call>

Lenient mode also reads ``<tool_call name="shell">{...}</tool_call>``, a
``<tool_calls>`` wrapper, ``params``/``parameters``/``args``/``input`` for
``arguments``, the ``<shell><command>...</command></shell>`` dialect and the
DeepSeek DSML markup (``<｜｜DSML｜｜invoke name="...">`` with ``parameter`` children).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from ai_lib_python.errors import ConfigurationError
from ai_lib_python.types import ToolCall, ToolDefinition

if TYPE_CHECKING:
    from ai_lib_python.types import ChatResponse

PromptLevel = Literal["L1", "L2", "L3"]

_ARG_KEYS: Final = ("arguments", "params", "parameters", "args", "input")
_BAR: Final = "[|｜]{1,2}"  # DSML delimiters: ASCII or full-width vertical bars
_TOOL_CALL: Final = re.compile(
    r"<tool_call(?P<attrs>(?:\s+[\w-]+\s*=\s*\"[^\"]*\")*)\s*>(?P<body>.*?)</tool_call\s*>",
    re.DOTALL,
)
_WRAPPER: Final = re.compile(r"</?tool_calls(?:\s+[^>]*)?>")
_ATTR: Final = re.compile(r"([\w-]+)\s*=\s*\"([^\"]*)\"")
_SHELL: Final = re.compile(
    r"<shell>\s*<command>(?P<cmd>.*?)</command>\s*</shell>", re.DOTALL
)
_DSML_BLOCK: Final = re.compile(
    rf"<{_BAR}DSML{_BAR}tool_calls>(?P<body>.*?)</{_BAR}DSML{_BAR}tool_calls>", re.DOTALL
)
_DSML_INVOKE: Final = re.compile(
    rf"<{_BAR}DSML{_BAR}invoke\s+name=\"(?P<name>[^\"]+)\"\s*>(?P<body>.*?)"
    rf"</{_BAR}DSML{_BAR}invoke>",
    re.DOTALL,
)
_DSML_PARAM: Final = re.compile(
    rf"<{_BAR}DSML{_BAR}parameter\s+name=\"(?P<name>[^\"]+)\"(?P<attrs>[^>]*)>"
    rf"(?P<value>.*?)</{_BAR}DSML{_BAR}parameter>",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class TextToolParse:
    """Tool calls found in a text, and the text with their markup removed."""

    remaining_text: str
    tool_calls: list[ToolCall] = field(default_factory=list)


def _new_id() -> str:
    return "call_" + os.urandom(12).hex()


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text.strip())
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _call_from_block(
    attrs: dict[str, str], body: str, lenient: bool, make_id: Callable[[], str]
) -> ToolCall | None:
    obj = _json_object(body)
    if obj is None:
        return None
    if lenient and "name" in attrs:
        name: Any = attrs["name"]
        args_obj: Any = obj
        for key in _ARG_KEYS:  # {"arguments": {...}} inside a named block
            if set(obj) == {key} and isinstance(obj[key], dict):
                args_obj = obj[key]
                break
    else:
        name = obj.get("name")
        keys = _ARG_KEYS if lenient else ("arguments",)
        args_obj = next((obj[k] for k in keys if k in obj), {})
        if isinstance(args_obj, str) and lenient:  # arguments as a JSON string
            args_obj = _json_object(args_obj)
    if not isinstance(name, str) or not name or not isinstance(args_obj, dict):
        return None
    call_id = attrs.get("id") if lenient and attrs.get("id") else make_id()
    return ToolCall(id=str(call_id), name=name, arguments=args_obj)


def _dsml_value(raw: str, attrs: str) -> Any:
    if re.search(r'string\s*=\s*"true"', attrs):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _tidy(text: str) -> str:
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def parse_text_tool_calls(
    text: str,
    *,
    lenient: bool = True,
    make_id: Callable[[], str] = _new_id,
) -> TextToolParse:
    """Extract tool calls written as text. Blocks that do not parse stay in the text."""
    calls: list[tuple[int, ToolCall]] = []
    spans: list[tuple[int, int]] = []

    for m in _TOOL_CALL.finditer(text):
        attrs = dict(_ATTR.findall(m.group("attrs") or ""))
        if attrs and not lenient:
            continue
        call = _call_from_block(attrs, m.group("body"), lenient, make_id)
        if call is not None:
            calls.append((m.start(), call))
            spans.append(m.span())

    if lenient:
        for m in _SHELL.finditer(text):
            calls.append(
                (m.start(), ToolCall(id=make_id(), name="shell",
                                     arguments={"command": m.group("cmd").strip()}))
            )
            spans.append(m.span())
        for block in _DSML_BLOCK.finditer(text):
            for inv in _DSML_INVOKE.finditer(block.group("body")):
                args = {
                    p.group("name"): _dsml_value(p.group("value"), p.group("attrs"))
                    for p in _DSML_PARAM.finditer(inv.group("body"))
                }
                calls.append((block.start() + inv.start(),
                              ToolCall(id=make_id(), name=inv.group("name"), arguments=args)))
            spans.append(block.span())

    if not calls:
        return TextToolParse(remaining_text=text.strip())
    pieces: list[str] = []
    cursor = 0
    for start, end in sorted(spans):
        if start >= cursor:
            pieces.append(text[cursor:start])
            cursor = end
    pieces.append(text[cursor:])
    remaining = "".join(pieces)
    if lenient:
        remaining = _WRAPPER.sub("", remaining)
    calls.sort(key=lambda item: item[0])
    return TextToolParse(remaining_text=_tidy(remaining), tool_calls=[c for _, c in calls])


def merge_tool_calls(
    content: str,
    native_tool_calls: Sequence[ToolCall],
    *,
    lenient: bool = True,
    make_id: Callable[[], str] = _new_id,
) -> TextToolParse:
    """Native tool calls win when there are any (the text is left as is); otherwise
    the text is parsed for tool calls."""
    if native_tool_calls:
        return TextToolParse(remaining_text=content, tool_calls=list(native_tool_calls))
    return parse_text_tool_calls(content, lenient=lenient, make_id=make_id)


_PROMPTS: Final = {
    "en": {
        "intro": "You can call the tools listed below. To call one, write exactly:",
        "format": '<tool_call>\n{"name": "TOOL_NAME", "arguments": {"ARG": "VALUE"}}\n</tool_call>',
        "rules": (
            "Rules:\n"
            "- Use only the <tool_call> format above: one block per call, valid JSON, "
            "\"name\" is one of the tool names below and \"arguments\" is a JSON object.\n"
            "- After writing tool calls, stop and wait for their results."
        ),
        "ignored": (
            "Other formats WILL BE IGNORED and the tool will not run, for example "
            "<shell><command>ls</command></shell>, <function=name>...</function>, "
            "or a bare JSON object without the <tool_call> tags."
        ),
        "tools": "Available tools:",
        "example": "Example:",
    },
}


def build_tool_prompt(
    tools: Sequence[ToolDefinition],
    *,
    level: PromptLevel = "L2",
    locale: str = "en",
) -> str:
    """Instructions that teach a model the canonical ``<tool_call>`` form.

    L1: the format and the tool names; L2 adds descriptions, rules and the formats
    that will be ignored; L3 adds each tool's parameter schema and an example.
    """
    text = _PROMPTS.get(locale)
    if text is None:
        raise ConfigurationError(
            f"no tool prompt for locale {locale!r}", hint="available: " + ", ".join(_PROMPTS)
        )
    if level not in ("L1", "L2", "L3"):
        raise ConfigurationError(f"unknown prompt level {level!r}", hint="use L1, L2 or L3")
    parts = [text["intro"], text["format"]]
    lines = [text["tools"]]
    for tool in tools:
        line = f"- {tool.name}"
        if level != "L1" and tool.description:
            line += f": {tool.description}"
        if level == "L3":
            line += "\n  arguments schema: " + json.dumps(tool.parameters, ensure_ascii=False)
        lines.append(line)
    parts.append("\n".join(lines))
    if level != "L1":
        parts += [text["rules"], text["ignored"]]
    if level == "L3" and tools:
        first = tools[0]
        props = first.parameters.get("properties") or {}
        sample = {name: "..." for name in list(props)[:2]}
        parts.append(
            text["example"] + "\n<tool_call>\n"
            + json.dumps({"name": first.name, "arguments": sample}, ensure_ascii=False)
            + "\n</tool_call>"
        )
    return "\n\n".join(parts)


def apply_text_tool_calls(response: ChatResponse) -> None:
    """For models that write tool calls as text (``<tool_call>...``, DeepSeek DSML):
    when a candidate has no native calls, move the calls found in its text into
    ``tool_calls`` and keep the rest of the text as its content."""
    from ai_lib_python.types import Message, TextBlock, ToolUseBlock

    for cand in response.candidates:
        if cand.tool_calls or not cand.content:
            continue
        parsed = merge_tool_calls(cand.content, [])
        if not parsed.tool_calls:
            continue
        others = [b for b in cand.message.blocks if not isinstance(b, TextBlock)]
        blocks = [*others, TextBlock(parsed.remaining_text)] if parsed.remaining_text else others
        blocks += [ToolUseBlock(c.id, c.name, c.arguments) for c in parsed.tool_calls]
        cand.message = Message("assistant", tuple(blocks))
        cand.tool_calls = list(parsed.tool_calls)
        if cand.finish_reason in (None, "end_turn"):
            cand.finish_reason = "tool_use"
