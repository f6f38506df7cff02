"""The synchronous facade end to end against the emulator, in three wire formats,
and from the places notebooks and scripts call it: a running event loop, a thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import subprocess
import sys
import threading
from typing import Any

import pytest

from ai_lib_python import AiClient as AsyncAiClient
from ai_lib_python import (
    CancelledError,
    CancelToken,
    ChatResponse,
    ClientClosedError,
    ConfigurationError,
    PartialContentDelta,
    ProviderError,
    StreamEnd,
    ToolCallEnded,
    ToolDefinition,
)
from ai_lib_python.sync import AiClient, ChatStream, create_sync
from ai_lib_python.sync._runner import RUNNER, LoopThread
from ai_lib_python.testing import Fault, ProviderEmulator, Reply, ToolCallReply

from .conftest import KEY, MODELS

FORMATS = ["openai", "anthropic", "gemini"]
WEATHER = ToolDefinition(
    "get_weather", "Weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})


def make(emu: ProviderEmulator, fmt: str) -> AiClient:
    return AiClient.create(MODELS[fmt], base_url=emu.url_for(fmt), api_key=KEY)


def drain(stream: ChatStream) -> tuple[list[Any], ChatResponse]:
    with stream:
        events = list(stream)
    return events, stream.response


@pytest.mark.parametrize("fmt", FORMATS)
def test_chat_and_stream_agree(thread_emu: ProviderEmulator, fmt: str) -> None:
    reply = Reply(text="The answer is 4, as arithmetic says.", usage=(12, 9), chunk_size=3)
    thread_emu.enqueue(reply, reply)
    with make(thread_emu, fmt) as client:
        resp = client.chat().system("Be brief.").user("2+2?").execute()
        events, streamed = drain(client.chat().system("Be brief.").user("2+2?").stream())
    assert client.closed
    assert resp.content == "The answer is 4, as arithmetic says."
    assert streamed.content == resp.content
    deltas = [e.content for e in events if isinstance(e, PartialContentDelta)]
    assert len(deltas) > 5 and "".join(deltas) == resp.content
    assert resp.finish_reason == streamed.finish_reason == "end_turn"
    assert resp.usage is not None and resp.usage.total_tokens == 21
    assert streamed.usage is not None and streamed.usage.prompt_tokens == 12
    assert isinstance(events[-1], StreamEnd)
    assert resp.stats.provider == fmt and resp.stats.latency_ms > 0
    assert streamed.stats.time_to_first_token_ms is not None


@pytest.mark.parametrize("fmt", FORMATS)
def test_tool_call_round_trip(thread_emu: ProviderEmulator, fmt: str) -> None:
    thread_emu.enqueue(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"})],
                             chunk_size=3),
                       Reply(text="18 degrees and sunny."))
    with make(thread_emu, fmt) as client:
        chat = client.chat().user("Weather in Paris?").tool(WEATHER)
        events, first = drain(chat.stream())
        ended = [e.tool_call for e in events if isinstance(e, ToolCallEnded)]
        assert [(c.name, c.arguments) for c in ended] == [("get_weather", {"city": "Paris"})]
        assert first.finish_reason == "tool_use"
        call = first.tool_calls[0]
        second = (client.chat().user("Weather in Paris?").tool(WEATHER)
                  .message(first.message)
                  .tool_result(call.id, '{"temp_c": 18}')
                  .execute())
    assert second.content == "18 degrees and sunny."
    body = thread_emu.last_request.json
    assert "18" in str(body)


@pytest.mark.parametrize("fmt", FORMATS)
def test_stream_helpers(thread_emu: ProviderEmulator, fmt: str) -> None:
    reply = Reply(text="one two three", chunk_size=4)
    thread_emu.enqueue(reply, reply)
    with make(thread_emu, fmt) as client:
        assert "".join(client.chat().user("x").stream().text()) == "one two three"
        assert client.chat().user("x").stream().collect().content == "one two three"


def test_builder_and_create_sync(thread_emu: ProviderEmulator) -> None:
    client = (AiClient.builder().model("openai/gpt-4o").base_url(thread_emu.url_for("openai"))
              .api_key(KEY).timeout(30).build())
    with client:
        assert client.chat().user("hi").execute().content == "Echo: hi"
        assert repr(client) == "<sync.AiClient openai/gpt-4o open>"
        assert isinstance(client.async_client, AsyncAiClient)
    with create_sync("openai/gpt-4o", base_url=thread_emu.url_for("openai"),
                     api_key=KEY) as other:
        assert other.provider == "openai" and other.model == "gpt-4o"
        assert other.manifest.id == "openai"


def test_errors_are_the_same_classes(thread_emu: ProviderEmulator) -> None:
    thread_emu.enqueue(Fault.status(400))
    with make(thread_emu, "openai") as client:
        with pytest.raises(ProviderError) as info:
            client.chat().user("x").execute()
        assert info.value.status == 400
        with pytest.raises(ConfigurationError):
            client.chat().user("x").temperature(9)
        with pytest.raises(ConfigurationError):
            client.chat().execute()
    with pytest.raises(ClientClosedError):
        client.chat()
    client.close()  # twice is fine


def test_stream_error_raises_and_closes(thread_emu: ProviderEmulator) -> None:
    thread_emu.enqueue(Fault.stream_error(2, "overloaded",
                                          reply=Reply(text="a b c d e f", chunk_size=1)))
    with make(thread_emu, "anthropic") as client:
        stream = client.chat().user("x").stream()
        with pytest.raises(ProviderError), stream:
            for _ in stream:
                pass
        assert list(stream) == []


def test_cancel_from_another_thread(thread_emu: ProviderEmulator) -> None:
    thread_emu.enqueue(Reply(text="word " * 200, chunk_size=5, chunk_delay=0.01))
    token = CancelToken()
    with make(thread_emu, "openai") as client:
        stream = client.chat().user("long").cancel_token(token).stream()
        seen = 0
        with pytest.raises(CancelledError), stream:
            for event in stream:
                if isinstance(event, PartialContentDelta):
                    seen += 1
                    if seen == 3:
                        threading.Timer(0.01, token.cancel).start()
        assert seen < 200
        assert asyncio.run(thread_emu.wait_for_disconnects(1)) == 1


def test_leaving_early_closes_the_response(thread_emu: ProviderEmulator) -> None:
    thread_emu.enqueue(Reply(text="word " * 400, chunk_size=5, chunk_delay=0.005))
    with make(thread_emu, "gemini") as client:
        with client.chat().user("long").stream() as stream:
            for _ in stream:
                break
        assert stream.response.content.startswith("word")
        assert asyncio.run(thread_emu.wait_for_disconnects(1)) == 1


def test_called_from_inside_a_running_event_loop(thread_emu: ProviderEmulator) -> None:
    """What a Jupyter cell does: a blocking call while the caller's loop runs."""

    async def cell() -> tuple[str, str]:
        with make(thread_emu, "openai") as client:
            text = client.chat().user("from a loop").execute().content
            with client.chat().user("streamed in a loop").stream() as stream:
                streamed = "".join(e.content for e in stream
                                   if isinstance(e, PartialContentDelta))
        return text, streamed

    assert asyncio.run(cell()) == ("Echo: from a loop", "Echo: streamed in a loop")


def test_called_from_plain_threads(thread_emu: ProviderEmulator) -> None:
    results: list[str] = []
    errors: list[BaseException] = []
    with make(thread_emu, "anthropic") as client:

        def work(i: int) -> None:
            try:
                results.append(client.chat().user(f"thread {i}").execute().content)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert not errors
    assert sorted(results) == [f"Echo: thread {i}" for i in range(4)]


def test_one_daemon_loop_thread_per_process(thread_emu: ProviderEmulator) -> None:
    with make(thread_emu, "openai") as client:
        client.chat().user("x").execute()
        first = RUNNER.thread
        client.chat().user("y").execute()
    assert first is not None and first is RUNNER.thread and first.daemon
    names = [t.name for t in threading.enumerate()]
    assert names.count("ai-lib-sync-loop") == 1


def test_calling_from_the_facade_loop_itself_is_refused(thread_emu: ProviderEmulator) -> None:
    with make(thread_emu, "openai") as client:

        async def nested() -> None:
            client.chat().user("x").execute()

        with pytest.raises(RuntimeError, match="its own event loop"):
            RUNNER.run(nested())


def test_shutdown_closes_open_clients_and_joins(thread_emu: ProviderEmulator) -> None:
    runner = LoopThread()
    client = runner.run(AsyncAiClient.create(
        MODELS["openai"], base_url=thread_emu.url_for("openai"), api_key=KEY))
    runner.track(client)
    assert runner.run(client.chat().user("x").execute()).content == "Echo: x"
    thread = runner.thread
    runner.shutdown()
    assert client.closed
    assert thread is not None and not thread.is_alive()
    runner.shutdown()  # idempotent


def test_exit_with_open_client_and_stream_is_clean() -> None:
    code = """
from ai_lib_python.sync import create_sync
from ai_lib_python.testing import ProviderEmulator, Reply
emu = ProviderEmulator.start_in_thread()
emu.set_default(Reply(text="word " * 500, chunk_size=5, chunk_delay=0.01))
client = create_sync("openai/gpt-4o", base_url=emu.url_for("openai"), api_key="k")
stream = client.chat().user("hi").stream()
print(type(next(iter(stream))).__name__)
"""
    out = subprocess.run([sys.executable, "-W", "error::ResourceWarning", "-c", code],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("Metadata", "PartialContentDelta")
    assert "Traceback" not in out.stderr and "Unclosed" not in out.stderr


@pytest.mark.parametrize("fmt", FORMATS)
def test_structured_output(thread_emu: ProviderEmulator, fmt: str) -> None:
    from pydantic import BaseModel

    class Person(BaseModel):
        name: str
        born: int

    answer = '{"name": "Frank Herbert", "born": 1920}'
    thread_emu.set_default(Reply(text=answer, chunk_size=5))
    with make(thread_emu, fmt) as client:
        person = client.chat().user("Who wrote Dune?").output(Person).execute()
        assert person == Person(name="Frank Herbert", born=1920)
        result = client.chat().user("Who wrote Dune?").output(Person).execute_with_response()
        assert result.value == person and result.attempts == 1
        with client.chat().user("Who wrote Dune?").output(Person).stream() as stream:
            partials = list(stream)
        assert partials and partials[-1] == {"name": "Frank Herbert", "born": 1920}
        assert stream.value == person
        assert client.chat().user("again").output(Person).stream().final() == person


def test_an_interrupted_wait_cancels_the_coroutine() -> None:
    finished: list[str] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            finished.append("cancelled")
            raise

    with pytest.raises(concurrent.futures.TimeoutError):  # TimeoutError from 3.11 on
        RUNNER.run(slow(), timeout=0.05)
    RUNNER.run(asyncio.sleep(0.01))  # let the loop deliver the cancellation
    assert finished == ["cancelled"]
