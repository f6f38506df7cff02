"""Guardrails end to end through AiClient against the emulator, streamed and not."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from ai_lib_python import (
    AiClient,
    ChatRequest,
    ChatResponse,
    ConfigurationError,
    FinalCandidate,
    ImageBlock,
    PartialContentDelta,
    StreamEnd,
    TextBlock,
)
from ai_lib_python.client import CallContext
from ai_lib_python.errors import GuardrailViolation
from ai_lib_python.guardrails import (
    CustomGuard,
    Guardrails,
    JsonSchemaGuard,
    KeywordGuard,
    LengthGuard,
    PiiGuard,
)
from ai_lib_python.plugins import Plugin
from ai_lib_python.testing import ProviderEmulator, Reply
from tests._support import KEY, MODELS, make_client

FORMATS = ["openai", "anthropic", "gemini"]


def _texts(body: dict[str, Any]) -> str:
    return str(body)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_input_redaction_reaches_the_provider_redacted(emu: ProviderEmulator,
                                                             fmt: str) -> None:
    layer = Guardrails(input=[PiiGuard()])
    async with await make_client(emu, fmt, layers=[layer]) as client:
        resp = await (client.chat().system("Admin: root@corp.example")
                      .user("Mail me at jane@example.com, card 4111 1111 1111 1111")
                      .user([TextBlock("key sk-abcdefghijklmnopqrstuvwxyz99"),
                             ImageBlock(url="https://img.example/a.png")])
                      .execute())
    sent = _texts(emu.requests[-1].json)
    assert "jane@example.com" not in sent and "4111" not in sent and "sk-abc" not in sent
    assert "[REDACTED:email]" in sent and "[REDACTED:card]" in sent
    assert "[REDACTED:api_key]" in sent and "img.example" in sent
    assert "root@corp.example" in sent  # system messages are not input_roles by default
    kinds = [r["kind"] for r in resp.stats.extra["guardrails"]]
    assert kinds == ["email", "card", "api_key"]
    assert resp.stats.extra["guardrails"][0]["direction"] == "input"


async def test_input_block_sends_nothing(emu: ProviderEmulator) -> None:
    layer = Guardrails(input=[KeywordGuard(["drop table"]), LengthGuard(100)])
    async with await make_client(emu, "openai", layers=[layer]) as client:
        with pytest.raises(GuardrailViolation) as info:
            await client.chat().user("please DROP TABLE users").execute()
        assert info.value.rule == "keywords" and info.value.direction == "input"
        assert info.value.code == "E1001" and not info.value.retryable
        assert "DROP" not in str(info.value)  # the matched text is never repeated
        with pytest.raises(GuardrailViolation, match="length"):
            async with client.chat().user("x" * 101).stream() as stream:
                async for _ in stream:
                    pass
    assert emu.requests == []


@pytest.mark.parametrize("fmt", FORMATS)
async def test_output_redaction_whole_and_streamed(emu: ProviderEmulator, fmt: str) -> None:
    deltas = ["Reach ", "a@b", "c.com or call 415-5", "55-0132", ". Bye"]
    emu.enqueue(Reply(text="".join(deltas)), Reply(text=deltas))
    layer = Guardrails(output=[PiiGuard()])
    async with await make_client(emu, fmt, layers=[layer]) as client:
        resp = await client.chat().user("contact?").execute()
        async with client.chat().user("contact?").stream() as stream:
            events = [e async for e in stream]
    expected = "Reach [REDACTED:email] or call [REDACTED:phone]. Bye"
    assert resp.content == expected and resp.raw is None
    text = [e.content for e in events if isinstance(e, PartialContentDelta)]
    assert "".join(text) == expected
    assert all(t for t in text)  # no empty deltas
    assert stream.response.content == expected
    kinds = [r["kind"] for r in stream.response.stats.extra["guardrails"]]
    assert kinds == ["email", "phone"]
    ends = [i for i, e in enumerate(events) if isinstance(e, (FinalCandidate, StreamEnd))]
    last_text = max(i for i, e in enumerate(events) if isinstance(e, PartialContentDelta))
    assert last_text < ends[0]  # the held tail comes out before the candidate ends


async def test_output_block_stops_the_stream(emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(text=["All fine. ", "The code word is Blue", "bird; more text"]))
    layer = Guardrails(output=[KeywordGuard(["bluebird"])])
    async with await make_client(emu, "openai", layers=[layer]) as client:
        released: list[str] = []
        with pytest.raises(GuardrailViolation) as info:
            async with client.chat().user("code?").stream() as stream:
                async for e in stream:
                    if isinstance(e, PartialContentDelta):
                        released.append(e.content)
    assert "bird" not in "".join(released).lower()
    assert info.value.direction == "output" and info.value.offset == len(
        "All fine. The code word is ")


async def test_warn_logs_and_records(emu: ProviderEmulator,
                                     caplog: pytest.LogCaptureFixture) -> None:
    emu.enqueue(Reply(text="write to ops@example.com"))
    layer = Guardrails(output=[PiiGuard(action="warn")])
    async with await make_client(emu, "anthropic", layers=[layer]) as client:
        with caplog.at_level(logging.WARNING, logger="ai_lib_python.guardrails"):
            resp = await client.chat().user("who?").execute()
    assert resp.content == "write to ops@example.com"
    assert resp.stats.extra["guardrails"] == [
        {"rule": "pii", "kind": "email", "action": "warn", "direction": "output", "offset": 9}]
    assert "pii" in caplog.text and "ops@example.com" not in caplog.text


async def test_json_schema_and_custom_output_guards(emu: ProviderEmulator) -> None:
    schema = {"type": "object", "required": ["ok"]}
    emu.enqueue(Reply(text='{"ok": true}'), Reply(text='{"nope": 1}'), Reply(text="shout"))
    layer = Guardrails(output=[JsonSchemaGuard(schema)])
    async with await make_client(emu, "openai", layers=[layer]) as client:
        assert (await client.chat().user("x").execute()).content == '{"ok": true}'
        with pytest.raises(GuardrailViolation, match="ok"):
            await client.chat().user("x").execute()
    upper = Guardrails(output=[CustomGuard(str.upper, name="upper", action="redact")])
    async with await make_client(emu, "openai", layers=[upper]) as client, (
            client.chat().user("x").stream()) as stream:
        text = "".join([e.content async for e in stream if isinstance(e, PartialContentDelta)])
    assert text == "SHOUT"


async def test_builder_and_layer_order(emu: ProviderEmulator) -> None:
    """Plugins (stage 10) run outside guardrails (stage 20): they see the request before
    input guards and the response after output guards."""
    seen: dict[str, str] = {}

    class Spy(Plugin):
        async def before_request(self, request: ChatRequest, ctx: CallContext) -> None:
            seen["request"] = request.messages[-1].text

        async def after_response(self, request: ChatRequest, response: ChatResponse,
                                 ctx: CallContext) -> None:
            seen["response"] = response.content

    emu.enqueue(Reply(text="token ghp_" + "x1" * 18 + " done"))
    client = await (AiClient.builder().model(MODELS["gemini"]).base_url(emu.url_for("gemini"))
                    .api_key(KEY)
                    .with_guardrails(input=[PiiGuard()], output=[PiiGuard(), LengthGuard(
                        30, action="redact")])
                    .with_plugins(Spy()).build())
    async with client:
        resp = await client.chat().user("I am bob@example.com").execute()
    assert seen["request"] == "I am bob@example.com"
    assert seen["response"] == resp.content == "token [REDACTED:api_key] done"[:30]
    assert "bob@" not in str(emu.requests[-1].json)


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="not a guard"):
        Guardrails(output=["nope"])  # type: ignore[list-item]
    with pytest.raises(ConfigurationError, match="unknown roles"):
        Guardrails(input=[PiiGuard()], input_roles=["robot"])
    with pytest.raises(ConfigurationError):
        AiClient.builder().with_guardrails(Guardrails(), input=[PiiGuard()])
    inner: Any = object()
    assert Guardrails().wrap(inner) is inner
