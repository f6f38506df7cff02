"""Structured output end to end through AiClient against the emulator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from ai_lib_python import ConfigurationError, Message
from ai_lib_python.errors import StructuredOutputError
from ai_lib_python.plugins import Plugin, PluginLayer
from ai_lib_python.structured import StructuredResult, output_spec
from ai_lib_python.testing import ProviderEmulator, Reply, ToolCallReply
from tests._support import make_client


class Person(BaseModel):
    name: str
    age: int
    nickname: str | None = None


class Item(BaseModel):
    sku: str
    qty: int


FORMATS = ["openai", "anthropic", "gemini", "cohere"]
GOOD = {"name": "Ada", "age": 36}
BAD = {"name": "Ada", "age": "thirty-six"}


def answer(fmt: str, data: Any, *, chunk_size: int = 4) -> Reply:
    """The model's answer in the shape each wire format gets it: the forced tool's
    arguments on Anthropic, the text elsewhere."""
    text = data if isinstance(data, str) else json.dumps(data)
    if fmt == "anthropic":
        return Reply(tool_calls=[ToolCallReply("Person", text)], chunk_size=chunk_size)
    return Reply(text=text, chunk_size=chunk_size)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_valid_answer(emu: ProviderEmulator, fmt: str) -> None:
    emu.enqueue(answer(fmt, GOOD))
    async with await make_client(emu, fmt) as client:
        person = await client.chat().user("Who?").output(Person).execute()
    assert person == Person(name="Ada", age=36)
    assert len(emu.requests) == 1


@pytest.mark.parametrize("fmt", FORMATS)
async def test_invalid_answer_is_repaired(emu: ProviderEmulator, fmt: str) -> None:
    emu.enqueue(answer(fmt, BAD), answer(fmt, GOOD))
    async with await make_client(emu, fmt) as client:
        result = await client.chat().user("Who?").output(Person).execute_with_response()
    assert isinstance(result, StructuredResult)
    assert result.value == Person(name="Ada", age=36) and result.attempts == 2
    assert result.response.stats.extra["structured_output"] == {"attempt": 2, "valid": True}
    second = json.dumps(emu.requests[1].json)
    assert "does not match the required JSON Schema" in second and "age" in second
    if fmt == "anthropic":  # the bad call goes back as a failed tool result
        turns = emu.requests[1].json["messages"]
        assert turns[1]["content"][0]["type"] == "tool_use"
        result_block = turns[2]["content"][0]
        assert result_block["type"] == "tool_result" and result_block["is_error"] is True


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
async def test_final_failure_is_typed(emu: ProviderEmulator, fmt: str) -> None:
    emu.enqueue(answer(fmt, BAD), answer(fmt, "not json at all"), answer(fmt, BAD))
    async with await make_client(emu, fmt) as client:
        with pytest.raises(StructuredOutputError) as info:
            await client.chat().user("Who?").output(Person, repair_attempts=2).execute()
    err = info.value
    assert err.attempts == 3 and len(emu.requests) == 3
    assert json.loads(err.raw_text) == BAD
    assert err.errors[0]["loc"] == ("age",) and "input" not in err.errors[0]
    assert err.response is not None and "Person" in str(err)


async def test_no_repair_when_disabled(emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(text="nope"))
    async with await make_client(emu, "openai") as client:
        with pytest.raises(StructuredOutputError) as info:
            await client.chat().user("Who?").output(Person, repair_attempts=0).execute()
        with pytest.raises(ConfigurationError):
            client.chat().user("x").output(Person, repair_attempts=-1)
    assert info.value.raw_text == "nope" and info.value.errors[0]["type"] == "json_invalid"
    assert len(emu.requests) == 1


async def test_wrapped_types_and_fenced_answers(emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(text='Here you go:\n```json\n{"value": [{"sku": "A1", "qty": 2}]}\n```'))
    async with await make_client(emu, "openai") as client:
        items = await client.chat().user("Order?").output(list[Item]).execute()
    assert items == [Item(sku="A1", qty=2)]
    sent = emu.requests[-1].json["response_format"]["json_schema"]
    assert sent["name"] == "list" and sent["schema"]["required"] == ["value"]


async def test_json_mode_fallback_end_to_end(emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(text=json.dumps(GOOD)))
    async with await make_client(emu, "openai", model="deepseek/deepseek-chat") as client:
        person = await client.chat().user("Who?").output(Person).execute()
    assert person.name == "Ada"
    body = emu.requests[-1].json
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][0]["role"] == "system" and "JSON Schema" in (
        body["messages"][0]["content"])


async def test_plugins_see_every_attempt(emu: ProviderEmulator) -> None:
    seen: list[int] = []

    class Count(Plugin):
        async def before_request(self, request: Any, ctx: Any) -> None:
            seen.append(len(request.messages))

    emu.enqueue(answer("openai", BAD), answer("openai", GOOD))
    async with await make_client(emu, "openai", layers=[PluginLayer([Count()])]) as client:
        await client.chat().user("Who?").output(Person).execute()
    assert seen == [1, 3]  # the repair turn adds the bad answer and the feedback


@pytest.mark.parametrize("fmt", ["openai", "anthropic", "gemini"])
async def test_stream_partials_then_value(emu: ProviderEmulator, fmt: str) -> None:
    data = {"name": "Ada Lovelace", "age": 36, "nickname": "Enchantress of Numbers"}
    emu.enqueue(answer(fmt, data, chunk_size=5))
    async with await make_client(emu, fmt) as client, (
            client.chat().user("Who?").output(Person).stream()) as stream:
        partials = [dict(p) async for p in stream]
    assert len(partials) >= 4
    assert partials[-1] == data
    names = [p["name"] for p in partials if "name" in p]
    assert names[0] != names[-1] and all(names[-1].startswith(n) for n in names)
    assert stream.value == Person(**data)
    assert stream.response.stats.streamed


async def test_stream_invalid_answer_raises(emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(text=json.dumps(BAD)))
    async with await make_client(emu, "openai") as client:
        request = client.chat().user("Who?").output(Person)
        with pytest.raises(StructuredOutputError) as info:
            await request.stream().final()
    assert info.value.attempts == 1 and json.loads(info.value.raw_text) == BAD


async def test_build_and_parse_without_the_helper(emu: ProviderEmulator) -> None:
    """The request can be built and sent by hand; the spec parses the response."""
    emu.enqueue(Reply(text=json.dumps(GOOD)))
    async with await make_client(emu, "openai") as client:
        request = client.chat().user("Who?").output(Person).build()
        assert request.response_format is not None
        response = await client.execute(request.with_(messages=(Message.user("Who?"),)))
    assert output_spec(Person).parse(response) == Person(**GOOD)
