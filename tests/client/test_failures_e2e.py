"""Bad input, provider errors, broken streams and cancellation, end to end."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from ai_lib_python import (
    AiClient,
    CancelledError,
    CancelToken,
    ClientClosedError,
    ConfigurationError,
    ConnectError,
    FirstTokenTimeoutError,
    IdleTimeoutError,
    Message,
    PartialContentDelta,
    ProviderError,
    StreamDecodeError,
    StreamError,
    Timeout,
    ToolDefinition,
)
from ai_lib_python.testing import Fault, ProviderEmulator, Reply
from tests._support import KEY, MODELS, make_client

FORMATS = ["openai", "anthropic", "gemini"]
LONG = Reply(text="word " * 400, chunk_size=5, chunk_delay=0.002)


async def test_missing_key_names_the_env_var_before_any_io(
        emu: ProviderEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("ai_lib_python.transport._credentials._keyring_get",
                        lambda *a, **k: None)
    for fmt, env in (("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY"),
                     ("gemini", "GEMINI_API_KEY")):
        with pytest.raises(ConfigurationError) as info:
            await AiClient.create(MODELS[fmt], base_url=emu.url_for(fmt))
        assert env in str(info.value)
    assert emu.requests == []


async def test_key_from_env(emu: ProviderEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    async with await AiClient.create(MODELS["anthropic"],
                                     base_url=emu.url_for("anthropic")) as client:
        resp = await client.chat().user("hi").execute()
    assert resp.content.startswith("Echo: hi")


@pytest.mark.parametrize("bad", [
    lambda c: c.chat().user("x").temperature("hot"),
    lambda c: c.chat().user("x").max_tokens(0),
    lambda c: c.chat().user("x").top_p(3),
    lambda c: c.chat().message(Message("wizard", "x")),  # type: ignore[arg-type]
    lambda c: c.chat().user("x").tool(ToolDefinition("f", "", {"type": "string"})),
    lambda c: c.chat().build(),
    lambda c: c.chat().user("x").reasoning("extreme"),
])
async def test_invalid_input_fails_before_io(emu: ProviderEmulator, bad: Any) -> None:
    async with await make_client(emu, "openai") as client:
        with pytest.raises(ConfigurationError):
            req = bad(client)
            await req.execute()
    assert emu.requests == []


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("status", "code", "retryable"), [
    (400, "E1001", False), (401, "E1002", False), (403, "E1003", False), (404, "E1004", False),
    (429, "E2001", True), (500, "E3001", True), (503, "E3002", True),
])
async def test_http_errors_are_typed(emu: ProviderEmulator, fmt: str, status: int, code: str,
                                     retryable: bool) -> None:
    emu.enqueue(Fault.status(status, message="something went wrong", retry_after=7))
    async with await make_client(emu, fmt) as client:
        with pytest.raises(ProviderError) as info:
            await client.chat().user("x").execute()
    err = info.value
    assert (err.status, err.code, err.retryable) == (status, code, retryable)
    assert err.provider == fmt and err.model == MODELS[fmt].split("/", 1)[1]
    assert "something went wrong" in err.message and err.request_id
    assert err.retry_after == 7.0


async def test_anthropic_529_is_overloaded(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.status(529))
    async with await make_client(emu, "anthropic") as client:
        with pytest.raises(ProviderError) as info:
            await client.chat().user("x").execute()
    assert info.value.code == "E3002" and info.value.provider_type == "overloaded_error"


@pytest.mark.parametrize("fmt", FORMATS)
async def test_error_inside_a_200_stream(emu: ProviderEmulator, fmt: str) -> None:
    emu.enqueue(Fault.stream_error(after_chunks=3, kind="overloaded"))
    events: list[Any] = []
    async with await make_client(emu, fmt) as client:
        with pytest.raises(ProviderError) as info:
            async with client.chat().user("hello there").stream() as stream:
                async for e in stream:
                    events.append(e)
    assert isinstance(events[-1], StreamError) and events[-1].code == info.value.code
    # OpenAI has no distinct "overloaded" error type in streams: server_error (E3001).
    assert info.value.code == ("E3001" if fmt == "openai" else "E3002")
    assert info.value.retryable and info.value.fallbackable


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("fault", "error"), [
    (Fault.malformed(after_chunks=2), StreamDecodeError),
    (Fault.invalid_utf8(after_chunks=2), StreamDecodeError),
    (Fault.truncated(after_chunks=2), StreamDecodeError),
    (Fault.disconnect(after_chunks=2), ConnectError),
])
async def test_broken_streams_raise_typed_errors(emu: ProviderEmulator, fmt: str, fault: Fault,
                                                 error: type[Exception]) -> None:
    emu.enqueue(fault)
    async with await make_client(emu, fmt) as client:
        with pytest.raises(error):
            await asyncio.wait_for(client.chat().user("hello world " * 5).stream().collect(), 5)


@pytest.mark.parametrize("fault", [Fault.malformed(), Fault.truncated(), Fault.disconnect(1)])
async def test_broken_non_streamed_bodies(emu: ProviderEmulator, fault: Fault) -> None:
    emu.enqueue(fault)
    async with await make_client(emu, "openai") as client:
        with pytest.raises((StreamDecodeError, ConnectError)):
            await asyncio.wait_for(client.chat().user("hello").execute(), 5)


async def test_first_token_and_idle_timeouts(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.first_byte_delay(1.0), Fault.stall(after_chunks=3, seconds=1.0))
    t = Timeout(connect=1, first_token=0.1, idle=0.1, total=5)
    async with await make_client(emu, "openai", timeout=t) as client:
        with pytest.raises(FirstTokenTimeoutError):
            await client.chat().user("x").execute()
        with pytest.raises(IdleTimeoutError):
            await client.chat().user("hello world").stream().collect()


@pytest.mark.parametrize("fmt", FORMATS)
async def test_break_closes_the_connection_and_leaves_no_task(emu: ProviderEmulator,
                                                              fmt: str) -> None:
    emu.enqueue(LONG)
    before = len(asyncio.all_tasks())
    async with await make_client(emu, fmt) as client:
        async with client.chat().user("long").stream() as stream:
            async for event in stream:
                if isinstance(event, PartialContentDelta):
                    break
        assert await emu.wait_for_disconnects(1) >= 1
        partial = stream.response.content
        assert partial and len(partial) < len("word " * 400)
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) <= before


async def test_cancel_token_from_another_task(emu: ProviderEmulator) -> None:
    emu.enqueue(LONG)
    token = CancelToken()
    seen: list[str] = []
    async with await make_client(emu, "openai") as client:

        async def consume() -> None:
            async with client.chat().user("long").cancel_token(token).stream() as stream:
                async for event in stream:
                    if isinstance(event, PartialContentDelta):
                        seen.append(event.content)

        task = asyncio.create_task(consume())
        for _ in range(5000):  # bounded: the stream delivers within a few ms
            if len(seen) >= 3:
                break
            await asyncio.sleep(0.001)
        assert len(seen) >= 3
        token.cancel("user pressed stop")
        with pytest.raises(CancelledError) as info:
            await asyncio.wait_for(task, 5)
        assert info.value.code == "E4002" and "user pressed stop" in str(info.value)
        assert await emu.wait_for_disconnects(1) >= 1
        # the client still works after a cancelled call
        emu.enqueue(Reply(text="fine"))
        assert (await client.chat().user("again").execute()).content == "fine"


async def test_cancel_before_start_and_during_execute(emu: ProviderEmulator) -> None:
    token = CancelToken()
    token.cancel()
    async with await make_client(emu, "openai") as client:
        with pytest.raises(CancelledError):
            await client.chat().user("x").cancel_token(token).execute()
        emu.enqueue(Fault.first_byte_delay(2.0))
        token2 = CancelToken()
        task = asyncio.create_task(client.chat().user("x").cancel_token(token2).execute())
        await asyncio.sleep(0.05)
        token2.cancel()
        with pytest.raises(CancelledError):
            await asyncio.wait_for(task, 5)


async def test_client_lifecycle(emu: ProviderEmulator) -> None:
    client = await make_client(emu, "openai")
    assert "open" in repr(client)
    await client.close()
    await client.close()  # twice is fine
    assert client.closed and "closed" in repr(client)
    with pytest.raises(ClientClosedError):
        client.chat()
    with pytest.raises(ClientClosedError):
        async with client:
            pass


async def test_key_never_in_errors_reprs_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-live-SECRETSECRET-98765"
    async with ProviderEmulator() as emu:
        await _key_check(emu, secret, caplog)


async def _key_check(emu: ProviderEmulator, secret: str, caplog: pytest.LogCaptureFixture) -> None:
    emu.enqueue(Fault.status(400, message=f"Incorrect API key provided: {secret}"))
    texts: list[str] = []
    async with await AiClient.create(MODELS["openai"], base_url=emu.url_for("openai"),
                                     api_key=secret) as client:
        texts.append(repr(client))
        with pytest.raises(ProviderError) as info:
            await client.chat().user("x").execute()
        texts += [str(info.value), repr(info.value), info.value.message]
    with pytest.raises(ConfigurationError) as info2:
        await AiClient.create("openai-compatible/x", api_key=secret)
    texts += [str(info2.value), caplog.text]
    for text in texts:
        assert secret not in text
    assert "***" in str(info.value)  # the echoed key was masked, not dropped silently


async def test_cancel_between_events_stops_at_the_next_one(emu: ProviderEmulator) -> None:
    emu.enqueue(LONG)
    token = CancelToken()
    got = 0
    async with await make_client(emu, "openai") as client:
        with pytest.raises(CancelledError):
            async with client.chat().user("long").cancel_token(token).stream() as stream:
                async for event in stream:
                    if isinstance(event, PartialContentDelta):
                        got += 1
                        if got == 2:
                            token.cancel()  # while handling an event, not awaiting one
        assert got == 2
        assert await emu.wait_for_disconnects(1) >= 1
