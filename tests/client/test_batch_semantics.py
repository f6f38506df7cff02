"""Batching between layers changes nothing a caller or a layer can see.

The whole stream arrives in ONE network read here (mock transport), so every event
of it travels in one batch: exactly the case where per-event behaviour could slip.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ai_lib_python import AiClient, PartialContentDelta
from ai_lib_python.client import CallContext
from ai_lib_python.errors import GuardrailViolation, PluginError
from ai_lib_python.guardrails import Guardrails, KeywordGuard
from ai_lib_python.pipeline import SseDecoder
from ai_lib_python.plugins import Plugin, PluginLayer
from ai_lib_python.types import StreamEvent
from tests._support import KEY

PARTS = ["first part. ", "second part. ", "third has bluebird in it. ", "fourth. "]


def _frame(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _sse(parts: list[str], *, error_after: int | None = None) -> bytes:
    out = []
    for i, text in enumerate(parts):
        out.append(_frame({"id": "c", "model": "gpt-4o", "choices": [
            {"index": 0, "delta": {"content": text}, "finish_reason": None}]}))
        if error_after == i:
            out.append(_frame({"error": {"message": "overloaded", "type": "server_error",
                                         "code": "server_error"}}))
    out.append(_frame({"id": "c", "model": "gpt-4o", "choices": [
        {"index": 0, "delta": {}, "finish_reason": "stop"}]}) + b"data: [DONE]\n\n")
    return b"".join(out)


async def _client(body: bytes, layers: list[Any]) -> AiClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return await AiClient.create("openai/gpt-4o", api_key=KEY, base_url="http://mock/v1",
                                 transport=httpx.MockTransport(handler), layers=layers,
                                 max_retries=0)


async def _texts(client: AiClient, stop_after: int | None = None) -> list[str]:
    got: list[str] = []
    async with client.chat().user("go").stream() as stream:
        async for event in stream:
            if isinstance(event, PartialContentDelta):
                got.append(event.content)
                if stop_after is not None and len(got) == stop_after:
                    break
    return got


async def test_text_released_before_an_output_block_still_arrives() -> None:
    client = await _client(_sse(PARTS), [Guardrails(output=[KeywordGuard(["bluebird"])])])
    got: list[str] = []
    async with client:
        with pytest.raises(GuardrailViolation):
            async with client.chat().user("go").stream() as stream:
                async for event in stream:
                    if isinstance(event, PartialContentDelta):
                        got.append(event.content)
    text = "".join(got)
    assert text and "first part." in text and "bluebird" not in text


class Hooked(Plugin):
    def __init__(self, fail_on: str | None = None) -> None:
        self.fail_on = fail_on
        self.seen: list[str] = []

    def on_stream_event(self, event: StreamEvent, ctx: CallContext) -> StreamEvent | None:
        if isinstance(event, PartialContentDelta):
            if self.fail_on is not None and self.fail_on in event.content:
                raise RuntimeError("hook failed")
            self.seen.append(event.content)
            return PartialContentDelta(event.content.upper(), event.candidate_index)
        return None


async def test_stream_hooks_run_for_the_events_the_caller_asks_for() -> None:
    plugin = Hooked()
    async with await _client(_sse(PARTS), [PluginLayer([plugin])]) as client:
        got = await _texts(client, stop_after=1)
    assert got == ["FIRST PART. "]
    assert plugin.seen == ["first part. "]  # not the rest of the read


async def test_events_before_a_failing_hook_are_delivered() -> None:
    plugin = Hooked(fail_on="third")
    got: list[str] = []
    async with await _client(_sse(PARTS), [PluginLayer([plugin])]) as client:
        with pytest.raises(PluginError):
            async with client.chat().user("go").stream() as stream:
                async for event in stream:
                    if isinstance(event, PartialContentDelta):
                        got.append(event.content)
    assert got == ["FIRST PART. ", "SECOND PART. "]


async def test_time_to_first_token_is_stamped_when_an_error_ends_the_first_read() -> None:
    async with await _client(_sse(PARTS[:1], error_after=0), []) as client:
        stream = client.chat().user("go").stream()
        with pytest.raises(Exception, match="overloaded"):
            async with stream:
                async for _ in stream:
                    pass
    assert stream.stats.time_to_first_token_ms is not None


def test_decoders_take_any_bytes_like_chunk() -> None:
    chunk = b'data: {"a": 1}\n\nevent: error\ndata: {"message": "x"}\n\ndata: [DONE]\n\n'
    for kind in (bytes, bytearray):
        frames = SseDecoder().feed(kind(chunk))
        assert frames[0] == {"a": 1}
        assert frames[1] == {"type": "error", "error": {"message": "x"}}
        assert repr(frames[2]) == "DONE"
