"""Plugins end to end through AiClient against the emulator, streamed and not."""

from __future__ import annotations

from typing import Any

import pytest

from ai_lib_python import (
    AiClient,
    Candidate,
    ChatRequest,
    ChatResponse,
    ConfigurationError,
    FinalCandidate,
    Message,
    Metadata,
    PartialContentDelta,
    ProviderError,
    StreamEnd,
)
from ai_lib_python.client import CallContext
from ai_lib_python.errors import PluginError
from ai_lib_python.plugins import Plugin, PluginLayer
from ai_lib_python.testing import Fault, ProviderEmulator, Reply
from ai_lib_python.types import StreamEvent
from tests._support import KEY, MODELS, make_client


def canned(text: str) -> ChatResponse:
    return ChatResponse([Candidate(0, Message("assistant", text), [], "end_turn", "stop")],
                        model="canned")


class Recorder(Plugin):
    """Writes every hook call into a shared log."""

    def __init__(self, name: str, log: list[str], *, events: bool = False) -> None:
        self.name = name
        self.log = log
        if events:
            self.on_stream_event = self._event  # type: ignore[method-assign]

    async def before_request(self, request: ChatRequest, ctx: CallContext) -> None:
        self.log.append(f"before:{self.name}")

    async def after_response(self, request: ChatRequest, response: ChatResponse,
                             ctx: CallContext) -> None:
        self.log.append(f"after:{self.name}")

    async def on_error(self, request: ChatRequest, error: Exception,
                       ctx: CallContext) -> None:
        self.log.append(f"error:{self.name}:{type(error).__name__}")

    def _event(self, event: StreamEvent, ctx: CallContext) -> None:
        if isinstance(event, StreamEnd):
            self.log.append(f"event:{self.name}")


async def test_hooks_run_in_onion_order(emu: ProviderEmulator) -> None:
    log: list[str] = []
    plugins = [Recorder(n, log, events=True) for n in ("a", "b", "c")]
    emu.enqueue(Reply(text="hello"), Reply(text="hello"))
    async with await make_client(emu, "openai", layers=[PluginLayer(plugins)]) as client:
        resp = await client.chat().user("hi").execute()
        assert resp.content == "hello"
        assert log == ["before:a", "before:b", "before:c", "after:c", "after:b", "after:a"]
        log.clear()
        async with client.chat().user("hi").stream() as stream:
            [e async for e in stream]
        assert log == ["before:a", "before:b", "before:c", "event:c", "event:b", "event:a",
                       "after:c", "after:b", "after:a"]


async def test_builder_with_plugins_changes_the_request(emu: ProviderEmulator) -> None:
    class Tag(Plugin):
        async def before_request(self, request: ChatRequest, ctx: CallContext) -> ChatRequest:
            ctx.attributes["tagged"] = True
            return request.with_(temperature=0.25,
                                 messages=(Message.system("Be brief."), *request.messages))

    class Upper(Plugin):
        def after_response(self, request: ChatRequest, response: ChatResponse,
                           ctx: CallContext) -> ChatResponse:  # a plain def works too
            assert ctx.attributes["tagged"]
            response.candidates[0].message = Message("assistant", response.content.upper())
            return response

    client = await (AiClient.builder().model(MODELS["openai"]).base_url(emu.url_for("openai"))
                    .api_key(KEY).with_plugins(Tag(), Upper()).build())
    async with client:
        resp = await client.chat().user("hi").execute()
    body = emu.requests[-1].json
    assert body["temperature"] == 0.25
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert resp.content == "ECHO: HI"


class Answer(Plugin):
    """Answers every request itself."""

    async def before_request(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        return canned("from the plugin")


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
async def test_short_circuit_skips_the_provider(emu: ProviderEmulator, fmt: str) -> None:
    log: list[str] = []
    layer = PluginLayer([Recorder("outer", log), Answer(), Recorder("inner", log)])
    async with await make_client(emu, fmt, layers=[layer]) as client:
        resp = await client.chat().user("hi").execute()
        assert resp.content == "from the plugin" and resp.finish_reason == "end_turn"
        assert resp.stats.extra["short_circuited_by"] == "Answer"
        assert log == ["before:outer", "after:outer"]
        log.clear()
        async with client.chat().user("hi").stream() as stream:
            events = [e async for e in stream]
        assert log == ["before:outer", "after:outer"]
    assert emu.requests == []
    assert [type(e) for e in events] == [PartialContentDelta, FinalCandidate, Metadata,
                                         StreamEnd]
    assert stream.response.content == "from the plugin"
    assert stream.response.stats.streamed


async def test_after_response_can_replace_a_streamed_response(emu: ProviderEmulator) -> None:
    class Replace(Plugin):
        async def after_response(self, request: ChatRequest, response: ChatResponse,
                                 ctx: CallContext) -> ChatResponse:
            return canned(f"[{response.content}]")

    emu.enqueue(Reply(text="streamed"))
    layer = PluginLayer([Replace()])
    async with await make_client(emu, "gemini", layers=[layer]) as client, (
            client.chat().user("hi").stream()) as stream:
        text = "".join([e.content async for e in stream if isinstance(e, PartialContentDelta)])
    assert text == "streamed"
    assert stream.response.content == "[streamed]"


async def test_stream_event_hook_replaces_events(emu: ProviderEmulator) -> None:
    class Shout(Plugin):
        def on_stream_event(self, event: StreamEvent, ctx: CallContext) -> StreamEvent | None:
            if isinstance(event, PartialContentDelta):
                return PartialContentDelta(event.content.upper(), event.candidate_index)
            return None

    emu.enqueue(Reply(text=["ab", "cd"]))
    layer = PluginLayer([Shout()])
    async with await make_client(emu, "anthropic", layers=[layer]) as client, (
            client.chat().user("hi").stream()) as stream:
        deltas = [e.content async for e in stream if isinstance(e, PartialContentDelta)]
    assert deltas == ["AB", "CD"]


async def test_no_event_hook_means_no_per_event_work(emu: ProviderEmulator) -> None:
    """Without on_stream_event the layer passes the very same event objects through."""
    class Inner:
        def __init__(self, events: list[Any]) -> None:
            self.events = events

        async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
            raise NotImplementedError

        async def stream(self, request: ChatRequest, ctx: CallContext) -> Any:
            yield list(self.events)

        async def aclose(self) -> None:
            pass

    calls: list[str] = []

    class Counting(Plugin):
        async def before_request(self, request: ChatRequest, ctx: CallContext) -> None:
            calls.append("before")

    events = [PartialContentDelta("x"), StreamEnd("end_turn")]
    handler = PluginLayer([Counting()]).wrap(Inner(events))
    assert handler._event_hooks(0) == ()  # type: ignore[attr-defined]
    ctx = CallContext(ChatResponse([]).stats)
    got = [e async for batch in handler.stream(ChatRequest("m", (Message.user("hi"),)), ctx)
           for e in batch]
    assert got[0] is events[0] and got[1] is events[1]
    assert calls == ["before"]
    assert PluginLayer([]).wrap(inner := Inner(events)) is inner  # nothing to run: no layer


class Broken(Plugin):
    def __init__(self, hook: str) -> None:
        self.hook = hook

    async def before_request(self, request: ChatRequest, ctx: CallContext) -> None:
        if self.hook == "before_request":
            raise KeyError("boom")

    async def after_response(self, request: ChatRequest, response: ChatResponse,
                             ctx: CallContext) -> None:
        if self.hook == "after_response":
            raise ValueError("boom")

    def on_stream_event(self, event: StreamEvent, ctx: CallContext) -> None:
        if self.hook == "on_stream_event":
            raise RuntimeError("boom")


@pytest.mark.parametrize("hook", ["before_request", "after_response", "on_stream_event"])
async def test_failing_plugin_is_named(emu: ProviderEmulator, hook: str) -> None:
    plugin = Broken(hook)
    plugin.name = "broken-plugin"
    async with await make_client(emu, "openai", layers=[PluginLayer([plugin])]) as client:
        if hook != "on_stream_event":
            with pytest.raises(PluginError) as info:
                await client.chat().user("hi").execute()
            assert info.value.plugin == "broken-plugin" and info.value.hook == hook
            assert "broken-plugin" in str(info.value) and info.value.__cause__ is not None
        with pytest.raises(PluginError) as info:
            async with client.chat().user("hi").stream() as stream:
                async for _ in stream:
                    pass
        assert info.value.plugin == "broken-plugin" and info.value.hook == hook


async def test_deliberate_library_error_passes_through(emu: ProviderEmulator) -> None:
    class Refuse(Plugin):
        async def before_request(self, request: ChatRequest, ctx: CallContext) -> None:
            raise ConfigurationError("no requests on Sundays")

    async with await make_client(emu, "openai", layers=[PluginLayer([Refuse()])]) as client:
        with pytest.raises(ConfigurationError, match="Sundays"):
            await client.chat().user("hi").execute()
    assert emu.requests == []


class Rescue(Plugin):
    async def on_error(self, request: ChatRequest, error: Exception,
                       ctx: CallContext) -> ChatResponse | None:
        if isinstance(error, ProviderError):
            return canned(f"rescued from {error.status}")
        return None


async def test_on_error_recovers_before_the_first_event(emu: ProviderEmulator) -> None:
    log: list[str] = []
    layer = PluginLayer([Recorder("outer", log), Rescue(), Recorder("inner", log)])
    emu.enqueue(Fault.status(400), Fault.status(400))
    async with await make_client(emu, "openai", layers=[layer]) as client:
        resp = await client.chat().user("hi").execute()
        assert resp.content == "rescued from 400"
        assert resp.stats.extra["recovered_by"] == "Rescue"
        assert log == ["before:outer", "before:inner", "error:inner:ProviderError",
                       "after:outer"]
        async with client.chat().user("hi").stream() as stream:
            events = [e async for e in stream]
    assert isinstance(events[0], PartialContentDelta)
    assert events[0].content == "rescued from 400"
    assert stream.response.content == "rescued from 400"


async def test_on_error_only_observes_after_events_reached_the_caller(
        emu: ProviderEmulator) -> None:
    log: list[str] = []
    layer = PluginLayer([Rescue(), Recorder("inner", log)])
    emu.enqueue(Fault.stream_error(after_chunks=3, reply=Reply(text="partial answer here")))
    async with await make_client(emu, "openai", layers=[layer]) as client:
        seen: list[Any] = []
        with pytest.raises(ProviderError):
            async with client.chat().user("hi").stream() as stream:
                async for e in stream:
                    seen.append(e)
    assert any(isinstance(e, PartialContentDelta) for e in seen)
    assert log == ["before:inner", "error:inner:ProviderError"]


async def test_hook_returning_the_wrong_type_is_a_plugin_error(emu: ProviderEmulator) -> None:
    class Wrong(Plugin):
        async def before_request(self, request: ChatRequest, ctx: CallContext) -> Any:
            return "not a request"

    async with await make_client(emu, "openai", layers=[PluginLayer([Wrong()])]) as client:
        with pytest.raises(PluginError, match="expected a ChatRequest"):
            await client.chat().user("hi").execute()
