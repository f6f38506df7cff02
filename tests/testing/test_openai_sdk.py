"""The official OpenAI SDK pointed at the emulator: the wire format must satisfy it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from ai_lib_python.testing import Fault, ProviderEmulator, Reply, ToolCallReply

USER: Any = [{"role": "user", "content": "hi there"}]


@pytest.fixture
async def client(emu: ProviderEmulator) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=emu.url_for("openai"), api_key="sk-test", max_retries=0
    ) as c:
        yield c


async def test_non_streamed_echo(emu: ProviderEmulator, client: openai.AsyncOpenAI) -> None:
    r = await client.chat.completions.create(model="gpt-4o", messages=USER)
    assert r.choices[0].message.content == "Echo: hi there"
    assert r.choices[0].finish_reason == "stop"
    assert r.model == "gpt-4o"
    assert (
        r.usage is not None
        and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    )
    rec = emu.last_request
    assert (rec.path, rec.auth, rec.format, rec.stream) == (
        "/v1/chat/completions",
        "bearer",
        "openai",
        False,
    )
    assert rec.headers["authorization"] == "Bearer sk-test"
    assert rec.json["messages"] == USER


async def test_stream_with_usage_only_in_last_chunk(
    emu: ProviderEmulator, client: openai.AsyncOpenAI
) -> None:
    emu.enqueue(Reply(text="Hello there", usage=(12, 5), cached_tokens=3, reasoning_tokens=2))
    stream = await client.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello there"
    assert [c.usage for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (
        12,
        5,
        17,
    )
    assert last.usage.prompt_tokens_details is not None
    assert last.usage.prompt_tokens_details.cached_tokens == 3
    assert last.usage.completion_tokens_details is not None
    assert last.usage.completion_tokens_details.reasoning_tokens == 2
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["stop"]


async def test_stream_without_include_usage_has_no_usage(
    emu: ProviderEmulator, client: openai.AsyncOpenAI
) -> None:
    stream = await client.chat.completions.create(model="gpt-4o", messages=USER, stream=True)
    chunks = [chunk async for chunk in stream]
    assert all(c.usage is None and c.choices for c in chunks)
    assert all("usage" not in c.model_fields_set for c in chunks)


async def test_parallel_tool_calls_stream_interleaved(
    emu: ProviderEmulator, client: openai.AsyncOpenAI
) -> None:
    calls = [
        ToolCallReply("get_weather", {"city": "Paris", "unit": "celsius"}),
        ToolCallReply("get_time", {"timezone": "Europe/Paris"}, id="call_fixed"),
    ]
    emu.enqueue(Reply(tool_calls=calls, chunk_size=5))
    seen: list[tuple[int, str | None, str | None]] = []
    async with client.chat.completions.stream(
        model="gpt-4o",
        messages=USER,
        stream_options={"include_usage": True},
    ) as stream:
        async for event in stream:
            if event.type == "chunk" and event.chunk.choices:
                for tc in event.chunk.choices[0].delta.tool_calls or []:
                    seen.append((tc.index, tc.id, tc.function.name if tc.function else None))
        final = await stream.get_final_completion()
    message = final.choices[0].message
    assert final.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    assert message.tool_calls is not None
    assert [(t.function.name, t.function.arguments) for t in message.tool_calls] == [
        ("get_weather", '{"city":"Paris","unit":"celsius"}'),
        ("get_time", '{"timezone":"Europe/Paris"}'),
    ]
    assert message.tool_calls[1].id == "call_fixed"
    assert message.tool_calls[0].id.startswith("call_")
    # id and name only in the first delta of each call; fragments of the calls interleave
    firsts = [s for s in seen if s[1] is not None]
    assert [(i, name) for i, _, name in firsts] == [(0, "get_weather"), (1, "get_time")]
    assert all(s[1] is None and s[2] is None for s in seen if s not in firsts)
    indices = [i for i, _, _ in seen]
    assert indices != sorted(indices)


async def test_parallel_tool_calls_sequential_when_asked(
    emu: ProviderEmulator, client: openai.AsyncOpenAI
) -> None:
    calls = [ToolCallReply("a", {"x": 1}), ToolCallReply("b", {"y": 2})]
    emu.enqueue(Reply(tool_calls=calls, chunk_size=2, interleave_tool_calls=False))
    stream = await client.chat.completions.create(model="gpt-4o", messages=USER, stream=True)
    indices = [
        tc.index
        async for chunk in stream
        for tc in (chunk.choices[0].delta.tool_calls or [] if chunk.choices else [])
    ]
    assert indices == sorted(indices)


async def test_non_streamed_parallel_tool_calls(
    emu: ProviderEmulator, client: openai.AsyncOpenAI
) -> None:
    emu.enqueue(
        Reply(text="", tool_calls=[ToolCallReply("f", {"a": 1}), ToolCallReply("g", '{"broken')])
    )
    r = await client.chat.completions.create(model="gpt-4o", messages=USER)
    message = r.choices[0].message
    assert r.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    assert message.tool_calls is not None
    assert [t.function.arguments for t in message.tool_calls] == ['{"a":1}', '{"broken']


async def test_n_two_candidates(emu: ProviderEmulator, client: openai.AsyncOpenAI) -> None:
    emu.enqueue(Reply(candidates=["first answer", "second one"], chunk_size=3))
    r = await client.chat.completions.create(model="gpt-4o", messages=USER, n=2)
    assert [(c.index, c.message.content) for c in r.choices] == [
        (0, "first answer"),
        (1, "second one"),
    ]

    emu.enqueue(Reply(candidates=["first answer", "second one"], chunk_size=3))
    stream = await client.chat.completions.create(model="gpt-4o", messages=USER, n=2, stream=True)
    order: list[int] = []
    texts = {0: "", 1: ""}
    async for chunk in stream:
        for choice in chunk.choices:
            order.append(choice.index)
            texts[choice.index] += choice.delta.content or ""
    assert texts == {0: "first answer", 1: "second one"}
    assert order[:4] == [0, 1, 0, 1]  # interleaved


async def test_n_copies_text_when_no_candidates(
    emu: ProviderEmulator, client: openai.AsyncOpenAI
) -> None:
    r = await client.chat.completions.create(model="gpt-4o", messages=USER, n=3)
    assert [c.message.content for c in r.choices] == ["Echo: hi there"] * 3


async def test_reasoning_content_for_reasoner_models(
    emu: ProviderEmulator, client: openai.AsyncOpenAI
) -> None:
    stream = await client.chat.completions.create(
        model="deepseek-reasoner", messages=USER, stream=True
    )
    reasoning = ""
    content = ""
    async for chunk in stream:
        delta = chunk.choices[0].delta
        reasoning += getattr(delta, "reasoning_content", None) or ""
        content += delta.content or ""
    assert reasoning == "Reasoning about: hi there"
    assert content == "Echo: hi there"

    emu.enqueue(Reply(text="ok", thinking="because", thinking_field="reasoning"))
    r = await client.chat.completions.create(model="gpt-oss", messages=USER)
    assert r.choices[0].message.model_extra == {"reasoning": "because"}


async def test_rate_limit_error(emu: ProviderEmulator, client: openai.AsyncOpenAI) -> None:
    emu.enqueue(Fault.status(429, retry_after=2))
    with pytest.raises(openai.RateLimitError) as info:
        await client.chat.completions.create(model="gpt-4o", messages=USER)
    err = info.value
    assert err.status_code == 429
    assert err.response.headers["retry-after"] == "2"
    assert err.request_id is not None and err.request_id.startswith("req_")
    assert isinstance(err.body, dict)
    assert set(err.body) == {"message", "type", "param", "code"}
    assert (err.body["type"], err.body["code"]) == ("requests", "rate_limit_exceeded")


async def test_error_in_stream_raises(emu: ProviderEmulator, client: openai.AsyncOpenAI) -> None:
    emu.enqueue(Fault.stream_error(after_chunks=2, kind="server_error", message="boom"))
    stream = await client.chat.completions.create(model="gpt-4o", messages=USER, stream=True)
    got: list[str] = []
    with pytest.raises(openai.APIError, match="boom"):
        async for chunk in stream:
            got.append(chunk.choices[0].delta.content or "")
    assert len(got) == 2


async def test_require_key() -> None:
    async with ProviderEmulator(require_key="sk-right") as emu:
        for key, expected in (("sk-wrong", "invalid_api_key"), ("sk-right", None)):
            async with openai.AsyncOpenAI(
                base_url=emu.url_for("openai"), api_key=key, max_retries=0
            ) as c:
                if expected is None:
                    r = await c.chat.completions.create(model="m", messages=USER)
                    assert r.choices[0].message.content == "Echo: hi there"
                    continue
                with pytest.raises(openai.AuthenticationError) as info:
                    await c.chat.completions.create(model="m", messages=USER)
                assert info.value.code == expected
                assert "sk-wrong" not in str(info.value)


async def test_embeddings_are_deterministic(
    emu: ProviderEmulator, client: openai.AsyncOpenAI
) -> None:
    first = await client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    again = await client.embeddings.create(
        model="text-embedding-3-small", input="a", encoding_format="float"
    )
    sized = await client.embeddings.create(model="text-embedding-3-small", input="a", dimensions=5)
    assert emu.requests[0].json["encoding_format"] == "base64"  # the SDK's default
    assert [d.index for d in first.data] == [0, 1]
    assert len(first.data[0].embedding) == 16
    assert first.data[0].embedding == again.data[0].embedding
    assert first.data[0].embedding != first.data[1].embedding
    assert abs(sum(v * v for v in first.data[0].embedding) - 1.0) < 1e-5
    assert len(sized.data[0].embedding) == 5
    assert first.usage.prompt_tokens > 0


async def test_models_list(emu: ProviderEmulator, client: openai.AsyncOpenAI) -> None:
    page = await client.models.list()
    assert "gpt-4o" in [m.id for m in page.data]
