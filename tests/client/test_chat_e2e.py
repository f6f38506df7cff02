"""Chat end to end over real loopback HTTP against the emulator, in three wire formats."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from ai_lib_python import (
    AiClient,
    ChatResponse,
    FinalCandidate,
    ImageBlock,
    Message,
    PartialContentDelta,
    PartialToolCall,
    StreamEnd,
    ThinkingDelta,
    ToolCallEnded,
    ToolCallStarted,
    ToolDefinition,
)
from ai_lib_python.testing import ProviderEmulator, Reply, ToolCallReply
from tests._support import KEY, make_client

FORMATS = ["openai", "anthropic", "gemini"]
WEATHER = ToolDefinition(
    "get_weather", "Weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
TIME = ToolDefinition(
    "get_time", "Time in a zone",
    {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]})


async def _stream(client: Any, builder: Any) -> tuple[list[Any], ChatResponse]:
    async with builder.stream() as stream:
        events = [e async for e in stream]
    return events, stream.response


@pytest.mark.parametrize("fmt", FORMATS)
async def test_chat_and_stream_agree(emu: ProviderEmulator, fmt: str) -> None:
    reply = Reply(text="The answer is 4, as arithmetic says.", usage=(12, 9), chunk_size=3)
    emu.enqueue(reply, reply)
    async with await make_client(emu, fmt) as client:
        resp = await client.chat().system("Be brief.").user("2+2?").execute()
        events, streamed = await _stream(client, client.chat().system("Be brief.").user("2+2?"))
    assert resp.content == "The answer is 4, as arithmetic says."
    assert streamed.content == resp.content
    deltas = [e.content for e in events if isinstance(e, PartialContentDelta)]
    assert len(deltas) > 5 and "".join(deltas) == resp.content
    assert resp.finish_reason == streamed.finish_reason == "end_turn"
    assert resp.usage is not None and resp.usage.prompt_tokens == 12
    assert resp.usage.completion_tokens == 9
    assert streamed.usage is not None and streamed.usage.prompt_tokens == 12
    assert isinstance(events[-1], StreamEnd) and events[-1].finish_reason == "end_turn"
    assert resp.stats.provider == fmt and resp.stats.latency_ms > 0
    assert streamed.stats.time_to_first_token_ms is not None


@pytest.mark.parametrize("fmt", FORMATS)
async def test_system_prompt_placement(emu: ProviderEmulator, fmt: str) -> None:
    async with await make_client(emu, fmt) as client:
        await client.chat().system("You are terse.").user("hi").execute()
    body = emu.requests[-1].json
    if fmt == "openai":
        assert body["messages"][0] == {"role": "system", "content": "You are terse."}
    elif fmt == "anthropic":
        assert body["system"] == "You are terse."
        assert [m["role"] for m in body["messages"]] == ["user"]
        assert body["max_tokens"] == 4096  # required by the API; manifest default
    else:
        assert body["systemInstruction"] == {"parts": [{"text": "You are terse."}]}
        assert [c["role"] for c in body["contents"]] == ["user"]


@pytest.mark.parametrize("fmt", FORMATS)
async def test_auth_in_each_providers_form(emu: ProviderEmulator, fmt: str) -> None:
    async with await make_client(emu, fmt) as client:
        await client.chat().user("hi").execute()
    headers = emu.requests[-1].headers
    if fmt == "openai":
        assert headers["authorization"].startswith("Bearer ")
    elif fmt == "anthropic":
        assert "authorization" not in headers and headers["x-api-key"]
        assert headers["anthropic-version"] == "2023-06-01"
    else:
        assert headers["x-goog-api-key"] and "key" not in emu.requests[-1].query


@pytest.mark.parametrize("fmt", FORMATS)
async def test_parallel_tool_calls_streamed_and_not(emu: ProviderEmulator, fmt: str) -> None:
    calls = [ToolCallReply("get_weather", {"city": "Paris"}),
             ToolCallReply("get_time", {"tz": "Europe/Paris"})]
    reply = Reply(tool_calls=calls, chunk_size=3)
    emu.enqueue(reply, reply)
    async with await make_client(emu, fmt) as client:
        chat = client.chat().user("weather and time in Paris?").tools([WEATHER, TIME])
        resp = await chat.execute()
        events, streamed = await _stream(client, client.chat().user("x").tools([WEATHER, TIME]))
    for r in (resp, streamed):
        assert [(c.name, c.arguments) for c in r.tool_calls] == [
            ("get_weather", {"city": "Paris"}), ("get_time", {"tz": "Europe/Paris"})]
        assert r.finish_reason == "tool_use"
        assert all(c.id for c in r.tool_calls) and len({c.id for c in r.tool_calls}) == 2
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    ended = [e for e in events if isinstance(e, ToolCallEnded)]
    assert [e.tool_name for e in started] == ["get_weather", "get_time"]
    assert [e.tool_call.name for e in ended] == ["get_weather", "get_time"]
    if fmt == "openai":  # argument fragments really arrived interleaved across calls
        order = [e.index for e in events if isinstance(e, PartialToolCall)]
        assert order != sorted(order)
    body = emu.requests[-1].json
    if fmt == "openai":
        assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]
    elif fmt == "anthropic":
        assert body["tools"][0]["input_schema"]["required"] == ["city"]
    else:
        names = [d["name"] for d in body["tools"][0]["functionDeclarations"]]
        assert names == ["get_weather", "get_time"]


@pytest.mark.parametrize("fmt", FORMATS)
async def test_multi_turn_with_tool_results(emu: ProviderEmulator, fmt: str) -> None:
    emu.enqueue(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"})]),
                Reply(text="18 degrees."))
    async with await make_client(emu, fmt) as client:
        first = await client.chat().user("Weather in Paris?").tool(WEATHER).execute()
        call = first.tool_calls[0]
        second = await (client.chat().user("Weather in Paris?").tool(WEATHER)
                        .message(first.message)
                        .tool_result(call.id, '{"temp_c": 18}')
                        .execute())
    assert second.content == "18 degrees."
    body = emu.requests[-1].json
    if fmt == "openai":
        msgs = body["messages"]
        assert [m["role"] for m in msgs] == ["user", "assistant", "tool"]
        assert msgs[1]["tool_calls"][0]["id"] == call.id
        assert json.loads(msgs[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
        assert msgs[2] == {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 18}'}
    elif fmt == "anthropic":
        msgs = body["messages"]
        assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
        assert msgs[1]["content"][-1] == {"type": "tool_use", "id": call.id,
                                          "name": "get_weather", "input": {"city": "Paris"}}
        assert msgs[2]["content"] == [{"type": "tool_result", "tool_use_id": call.id,
                                       "content": '{"temp_c": 18}'}]
    else:
        contents = body["contents"]
        assert [c["role"] for c in contents] == ["user", "model", "user"]
        assert contents[1]["parts"][0]["functionCall"] == {"name": "get_weather",
                                                           "args": {"city": "Paris"}}
        assert contents[2]["parts"][0]["functionResponse"] == {
            "name": "get_weather", "response": {"temp_c": 18}}


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


@pytest.mark.parametrize("fmt", FORMATS)
async def test_image_input_by_url_and_base64(emu: ProviderEmulator, fmt: str) -> None:
    async with await make_client(emu, fmt) as client:
        await client.chat().user([
            ImageBlock(url="https://example.com/cat.png"),
            ImageBlock(data=PNG, media_type="image/png"),
        ]).user("What is in these?").execute()
    body = emu.requests[-1].json
    if fmt == "openai":
        parts = body["messages"][0]["content"]
        assert parts[0] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
        assert parts[1]["image_url"]["url"] == f"data:image/png;base64,{PNG}"
    elif fmt == "anthropic":
        parts = body["messages"][0]["content"]  # two user turns merged into one
        assert parts[0] == {"type": "image", "source": {"type": "url",
                                                        "url": "https://example.com/cat.png"}}
        assert parts[1] == {"type": "image", "source": {"type": "base64",
                                                        "media_type": "image/png", "data": PNG}}
        assert parts[2] == {"type": "text", "text": "What is in these?"}
    else:
        parts = body["contents"][0]["parts"]
        assert parts[0] == {"fileData": {"mimeType": "image/png",
                                         "fileUri": "https://example.com/cat.png"}}
        assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": PNG}}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_thinking_deltas(emu: ProviderEmulator, fmt: str) -> None:
    reply = Reply(text="Four.", thinking="Two plus two is four.", chunk_size=4)
    emu.enqueue(reply, reply)
    async with await make_client(emu, fmt) as client:
        resp = await client.chat().user("2+2?").reasoning("low").execute()
        events, streamed = await _stream(client, client.chat().user("2+2?").reasoning("low"))
    thinking = "".join(e.thinking for e in events if isinstance(e, ThinkingDelta))
    assert thinking == "Two plus two is four."
    assert resp.thinking == streamed.thinking == "Two plus two is four."
    assert resp.content == streamed.content == "Four."
    if fmt == "anthropic":  # the signature is kept, so the block can be sent back
        assert streamed.thinking_blocks[0].signature
        assert emu.requests[-1].json["thinking"]["type"] == "enabled"
    if fmt == "gemini":
        assert emu.requests[-1].json["generationConfig"]["thinkingConfig"]["includeThoughts"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("raw", "normalized"), [("length", "max_tokens"), ("stop", "end_turn")])
async def test_finish_reasons_normalized(emu: ProviderEmulator, fmt: str, raw: str,
                                         normalized: str) -> None:
    reply = Reply(text="cut", finish_reason=raw)
    emu.enqueue(reply, reply)
    async with await make_client(emu, fmt) as client:
        resp = await client.chat().user("x").execute()
        _, streamed = await _stream(client, client.chat().user("x"))
    assert resp.finish_reason == streamed.finish_reason == normalized
    assert resp.raw_finish_reason == streamed.raw_finish_reason
    assert resp.raw_finish_reason is not None


@pytest.mark.parametrize("fmt", ["openai", "gemini"])
async def test_multiple_candidates(emu: ProviderEmulator, fmt: str) -> None:
    reply = Reply(candidates=["first answer", "second answer"], chunk_size=3)
    emu.enqueue(reply, reply)
    async with await make_client(emu, fmt) as client:
        resp = await client.chat().user("x").n(2).execute()
        events, streamed = await _stream(client, client.chat().user("x").n(2))
    for r in (resp, streamed):
        assert [c.content for c in r.candidates] == ["first answer", "second answer"]
        assert [c.index for c in r.candidates] == [0, 1]
    finals = [e.candidate_index for e in events if isinstance(e, FinalCandidate)]
    assert sorted(finals) == [0, 1]
    by_cand: dict[int, str] = {}
    for e in events:
        if isinstance(e, PartialContentDelta):
            by_cand[e.candidate_index] = by_cand.get(e.candidate_index, "") + e.content
    assert by_cand == {0: "first answer", 1: "second answer"}
    body = emu.requests[-1].json
    assert (body["n"] if fmt == "openai" else body["generationConfig"]["candidateCount"]) == 2


async def test_message_round_trip_keeps_thinking_signature(emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(text="A", thinking="hmm", signature="sig-xyz"), Reply(text="B"))
    async with await make_client(emu, "anthropic") as client:
        first = await client.chat().user("q").execute()
        await client.chat().user("q").message(first.message).user("more").execute()
    sent = emu.requests[-1].json["messages"][1]["content"]
    assert sent[0] == {"type": "thinking", "thinking": "hmm", "signature": "sig-xyz"}
    assert sent[1] == {"type": "text", "text": "A"}


async def test_message_types_are_plain_values() -> None:
    m = Message.user("hi")
    assert m.role == "user" and m.text == "hi"
    match Message.assistant("x"):
        case Message(role="assistant", content=text):
            assert text == "x"
    await asyncio.sleep(0)


async def test_cohere_v2_chat_stream_and_tools(emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(text="Bonjour from Cohere.", usage=(9, 4), chunk_size=5),
                Reply(text="Bonjour from Cohere.", chunk_size=5),
                Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"})]))
    async with await AiClient.create("cohere/command-a-03-2025", base_url=emu.base_url,
                                     api_key=KEY) as client:
        resp = await client.chat().system("Be brief.").user("hi").execute()
        events, streamed = await _stream(client, client.chat().user("hi"))
        tools = await client.chat().user("weather?").tool(WEATHER).execute()
    assert resp.content == streamed.content == "Bonjour from Cohere."
    assert resp.finish_reason == streamed.finish_reason == "end_turn"
    assert resp.usage is not None and resp.usage.prompt_tokens == 9
    assert "".join(e.content for e in events if isinstance(e, PartialContentDelta)) == (
        "Bonjour from Cohere.")
    assert [(c.name, c.arguments) for c in tools.tool_calls] == [("get_weather",
                                                                  {"city": "Paris"})]
    body = emu.requests[0].json
    assert emu.requests[0].path == "/v2/chat"
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


@pytest.mark.parametrize("provider", ["openai-compatible", "ollama"])
async def test_keyless_local_servers(provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_COMPATIBLE_API_KEY", raising=False)
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    async with ProviderEmulator() as local:
        async with await AiClient.create(f"{provider}/llama3.2",
                                         base_url=local.url_for("openai")) as client:
            resp = await client.chat().user("hi").execute()
        assert resp.content == "Echo: hi"
        assert "authorization" not in local.requests[-1].headers
        async with await AiClient.create(f"{provider}/llama3.2", api_key="local-key-123",
                                         base_url=local.url_for("openai")) as client:
            await client.chat().user("hi").execute()
        assert local.requests[-1].headers["authorization"] == "Bearer local-key-123"
