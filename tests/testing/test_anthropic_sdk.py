"""The official Anthropic SDK pointed at the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx
import pytest

from ai_lib_python.testing import Fault, ProviderEmulator, Reply, ToolCallReply

USER: Any = [{"role": "user", "content": "hello claude"}]
MODEL = "claude-emulated-1"


@pytest.fixture
async def client(emu: ProviderEmulator) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        base_url=emu.base_url, api_key="sk-ant-test", max_retries=0
    ) as c:
        yield c


async def test_create_echo(emu: ProviderEmulator, client: anthropic.AsyncAnthropic) -> None:
    m = await client.messages.create(model=MODEL, max_tokens=64, messages=USER)
    assert [b.type for b in m.content] == ["text"]
    assert m.content[0].text == "Echo: hello claude"
    assert (m.stop_reason, m.stop_sequence, m.model, m.role) == (
        "end_turn",
        None,
        MODEL,
        "assistant",
    )
    assert m.usage.input_tokens > 0 and m.usage.output_tokens > 0
    assert m._request_id is not None and m._request_id.startswith("req_")
    rec = emu.last_request
    assert (rec.path, rec.format) == ("/v1/messages", "anthropic")
    assert rec.auth in {"x-api-key", "bearer"}  # SDK releases differ; the API takes both
    assert rec.headers["anthropic-version"]


async def test_stream_final_message_with_thinking_and_tools(
    emu: ProviderEmulator, client: anthropic.AsyncAnthropic
) -> None:
    emu.enqueue(
        Reply(
            text="Let me check.",
            thinking="The user wants weather for two cities.",
            tool_calls=[
                ToolCallReply("get_weather", {"city": "Paris"}),
                ToolCallReply("get_weather", {"city": "Oslo", "days": [1, 2]}, id="toolu_fixed"),
            ],
            usage=(40, 21),
            chunk_size=6,
        )
    )
    event_types: list[str] = []
    raw_types: list[str] = []
    async with client.messages.stream(model=MODEL, max_tokens=256, messages=USER) as stream:
        async for event in stream:
            event_types.append(event.type)
            if event.type == "content_block_delta":
                raw_types.append(event.delta.type)
        message = await stream.get_final_message()
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use", "tool_use"]
    thinking, text, call_a, call_b = message.content
    assert thinking.thinking == "The user wants weather for two cities."
    assert thinking.signature
    assert text.text == "Let me check."
    assert (call_a.name, call_a.input) == ("get_weather", {"city": "Paris"})
    assert (call_b.id, call_b.input) == ("toolu_fixed", {"city": "Oslo", "days": [1, 2]})
    assert call_a.id.startswith("toolu_")
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (40, 21)
    assert event_types[0] == "message_start"
    assert {"thinking_delta", "signature_delta", "text_delta", "input_json_delta"} <= set(raw_types)
    # Anthropic blocks never interleave: each block's deltas sit between its start and stop.
    assert raw_types.index("signature_delta") < raw_types.index("text_delta")


async def test_thinking_echo_when_requested(
    emu: ProviderEmulator, client: anthropic.AsyncAnthropic
) -> None:
    m = await client.messages.create(
        model=MODEL,
        max_tokens=2048,
        messages=USER,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    assert [b.type for b in m.content] == ["thinking", "text"]
    assert m.content[0].thinking == "Reasoning about: hello claude"


async def test_stop_sequence(emu: ProviderEmulator, client: anthropic.AsyncAnthropic) -> None:
    emu.enqueue(Reply(text="one two", finish_reason="stop_sequence"))
    m = await client.messages.create(
        model=MODEL,
        max_tokens=64,
        messages=USER,
        stop_sequences=["###"],
    )
    assert (m.stop_reason, m.stop_sequence) == ("stop_sequence", "###")


async def test_overloaded_529(emu: ProviderEmulator, client: anthropic.AsyncAnthropic) -> None:
    emu.enqueue(Fault.status(529))
    with pytest.raises(anthropic.APIStatusError) as info:
        await client.messages.create(model=MODEL, max_tokens=64, messages=USER)
    err = info.value
    assert isinstance(err, anthropic.OverloadedError)
    assert err.status_code == 529
    assert err.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
        "request_id": err.request_id,
    }
    assert err.response.headers["request-id"] == err.request_id


async def test_rate_limit_429(emu: ProviderEmulator, client: anthropic.AsyncAnthropic) -> None:
    emu.enqueue(Fault.status(429, retry_after=7, message="slow down"))
    with pytest.raises(anthropic.RateLimitError) as info:
        await client.messages.create(model=MODEL, max_tokens=64, messages=USER)
    assert info.value.response.headers["retry-after"] == "7"
    assert info.value.body["error"] == {"type": "rate_limit_error", "message": "slow down"}


async def test_error_event_inside_stream(
    emu: ProviderEmulator, client: anthropic.AsyncAnthropic
) -> None:
    emu.enqueue(
        Fault.stream_error(after_chunks=5, kind="overloaded", reply=Reply(text="partial text here"))
    )
    texts: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as info:
        async with client.messages.stream(model=MODEL, max_tokens=64, messages=USER) as stream:
            async for event in stream:
                if event.type == "text":
                    texts.append(event.text)
    assert info.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    # message_start, content_block_start, ping, then two text deltas
    assert texts == ["part", "ial "]
    assert emu.last_request.response.status == 200


async def test_authentication(emu: ProviderEmulator) -> None:
    emu.require_key = "right"
    async with anthropic.AsyncAnthropic(base_url=emu.base_url, api_key="wrong", max_retries=0) as c:
        with pytest.raises(anthropic.AuthenticationError) as info:
            await c.messages.create(model=MODEL, max_tokens=64, messages=USER)
    assert info.value.body["error"]["type"] == "authentication_error"


async def test_models_list_in_anthropic_shape(
    emu: ProviderEmulator, client: anthropic.AsyncAnthropic
) -> None:
    page = await client.models.list()
    assert "claude-sonnet-4-5" in [m.id for m in page.data]
    assert {m.type for m in page.data} == {"model"}


async def test_x_api_key_is_recorded(emu: ProviderEmulator) -> None:
    emu.require_key = "k"
    async with httpx.AsyncClient(base_url=emu.base_url) as c:
        ok = await c.post("/v1/messages", headers={"x-api-key": "k"}, json={"messages": USER})
        missing = await c.post("/v1/messages", json={"messages": USER})
    assert ok.status_code == 200
    assert [r.auth for r in emu.requests] == ["x-api-key", None]
    assert missing.status_code == 401
    assert missing.json()["error"] == {
        "type": "authentication_error",
        "message": "x-api-key header is required",
    }
