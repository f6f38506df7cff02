"""Text tool calls: dialects, strict vs lenient, hybrid with native calls, the prompt."""

from __future__ import annotations

import itertools

import pytest

from ai_lib_python.errors import ConfigurationError
from ai_lib_python.types import ToolCall, ToolDefinition
from ai_lib_python.wire._text_tools import (
    build_tool_prompt,
    merge_tool_calls,
    parse_text_tool_calls,
)


def ids() -> itertools.count[int]:
    return itertools.count(1)


def test_several_calls_in_order_with_prose_between() -> None:
    counter = ids()
    text = (
        'First.\n<tool_call>{"name": "a", "arguments": {"x": 1}}</tool_call>\n'
        "Then.\n<shell><command> ls -l </command></shell>\nDone."
    )
    out = parse_text_tool_calls(text, make_id=lambda: f"id{next(counter)}")
    assert [(c.id, c.name, c.arguments) for c in out.tool_calls] == [
        ("id1", "a", {"x": 1}), ("id2", "shell", {"command": "ls -l"}),
    ]
    assert out.remaining_text == "First.\n\nThen.\n\nDone."


def test_strict_mode_only_accepts_the_canonical_form() -> None:
    text = ('<tool_call name="shell">{"command": "ls"}</tool_call>'
            '<tool_call>{"name": "s", "params": {"q": 1}}</tool_call>'
            "<shell><command>ls</command></shell>")
    out = parse_text_tool_calls(text, lenient=False)
    assert [(c.name, c.arguments) for c in out.tool_calls] == [("s", {})]
    lenient = parse_text_tool_calls(text)
    assert [(c.name, c.arguments) for c in lenient.tool_calls] == [
        ("shell", {"command": "ls"}), ("s", {"q": 1}), ("shell", {"command": "ls"}),
    ]


def test_a_block_that_is_not_json_stays_in_the_text() -> None:
    text = "<tool_call>{not json}</tool_call>"
    out = parse_text_tool_calls(text)
    assert out.tool_calls == [] and out.remaining_text == text


def test_id_attribute_and_string_arguments() -> None:
    out = parse_text_tool_calls(
        '<tool_calls><tool_call id="call_7">{"name": "f", "arguments": "{\\"a\\": 2}"}'
        "</tool_call></tool_calls>"
    )
    assert [(c.id, c.arguments) for c in out.tool_calls] == [("call_7", {"a": 2})]
    assert out.remaining_text == ""


def test_dsml_parameters_typed_and_ascii_bars() -> None:
    text = (
        '<||DSML||tool_calls><||DSML||invoke name="search">'
        '<||DSML||parameter name="query" string="true">42</||DSML||parameter>'
        '<||DSML||parameter name="limit" string="false">10</||DSML||parameter>'
        "</||DSML||invoke></||DSML||tool_calls>"
    )
    [call] = parse_text_tool_calls(text).tool_calls
    assert (call.name, call.arguments) == ("search", {"query": "42", "limit": 10})


def test_text_without_calls() -> None:
    out = parse_text_tool_calls("  just an answer \n")
    assert out.tool_calls == [] and out.remaining_text == "just an answer"


def test_native_calls_win() -> None:
    native = [ToolCall("c1", "f", {"a": 1})]
    out = merge_tool_calls("<shell><command>x</command></shell>\n", native)
    assert out.tool_calls == native
    assert out.remaining_text == "<shell><command>x</command></shell>\n"
    assert merge_tool_calls("<shell><command>x</command></shell>", []).tool_calls[0].name == (
        "shell")


def test_prompt_levels() -> None:
    tools = [ToolDefinition("shell", "Run a command",
                            {"type": "object", "properties": {"command": {"type": "string"}}})]
    l1 = build_tool_prompt(tools, level="L1")
    assert "<tool_call>" in l1 and "shell" in l1 and "Run a command" not in l1
    l2 = build_tool_prompt(tools)
    assert "Run a command" in l2 and "WILL BE IGNORED" in l2 and "<shell>" in l2
    l3 = build_tool_prompt(tools, level="L3")
    assert '"command"' in l3 and "Example:" in l3
    with pytest.raises(ConfigurationError, match="locale"):
        build_tool_prompt(tools, locale="xx")
    with pytest.raises(ConfigurationError, match="level"):
        build_tool_prompt(tools, level="L9")  # type: ignore[arg-type]
