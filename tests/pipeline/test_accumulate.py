"""The one accumulator assembles interleaved deltas into the right calls and blocks."""

from __future__ import annotations

from ai_lib_python.pipeline import CandidateAccumulator
from ai_lib_python.types import TextBlock, ThinkingBlock, ToolUseBlock


def test_interleaved_parallel_tool_calls_by_index() -> None:
    acc = CandidateAccumulator(0)
    acc.tool_start("call_a", "weather", 0)
    acc.tool_start("call_b", "time", 1)
    for i, (idx, frag) in enumerate([(0, '{"ci'), (1, '{"tz"'), (0, 'ty": "Par'), (1, ': "UTC"}'),
                                     (0, 'is"}')]):
        assert acc.tool_args(frag, idx) is None, i
    cand = acc.build({"tool_calls": "tool_use"})
    assert [(c.id, c.name, c.arguments) for c in cand.tool_calls] == [
        ("call_a", "weather", {"city": "Paris"}), ("call_b", "time", {"tz": "UTC"})]
    assert cand.finish_reason == "tool_use"


def test_calls_keyed_by_id_and_implicit_start() -> None:
    acc = CandidateAccumulator(0)
    created = acc.tool_args('{"a":', None, "id1")
    assert created is not None and created.id == "id1"
    acc.tool_args("1}", None, "id1")
    acc.tool_start("id1", "late_name", None)  # a repeated start updates, does not duplicate
    call = acc.tool_end(None, "id1")
    assert call is not None and call.name == "late_name" and call.arguments == {"a": 1}
    assert acc.tool_end(None, "id1") is None  # ending twice yields nothing


def test_unparseable_arguments_are_kept_raw() -> None:
    acc = CandidateAccumulator(0)
    acc.tool_start("c", "f", 0, '{"truncated": ')
    call = acc.tool_end(0)
    assert call is not None and call.arguments == {} and call.raw_arguments == '{"truncated": '


def test_block_order_and_thinking_signatures() -> None:
    acc = CandidateAccumulator(0)
    acc.thinking("Let me ", new_block=True)
    acc.thinking("think.")
    acc.thinking("", signature="sig1")
    acc.thinking("", redacted="opaque")
    acc.text("Hello ")
    acc.text("world")
    acc.tool_start("t1", "f", 3, {"x": 1})
    msg = acc.build({}).message
    assert msg.blocks == (
        ThinkingBlock("Let me think.", "sig1"),
        ThinkingBlock("", None, "opaque"),
        TextBlock("Hello world"),
        ToolUseBlock("t1", "f", {"x": 1}),
    )


def test_many_fragments_assemble_in_linear_time() -> None:
    acc = CandidateAccumulator(0)
    acc.tool_start("c", "f", 0)
    for _ in range(50_000):
        acc.tool_args("1", 0)
    tool = acc.tools[0]
    assert len(tool.parts) == 50_000  # fragments kept, joined once at the end
    call = acc.tool_end(0)
    assert call is not None and call.raw_arguments == "1" * 50_000
