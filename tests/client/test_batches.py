"""Events travel between layers in batches; the caller still gets them one at a time.

A mock transport delivers the whole streamed body as ONE read, so the batching is
deterministic here (over a socket it depends on how the reads fall).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ai_lib_python import AiClient, PartialContentDelta, ProviderError, StreamEnd, StreamError
from ai_lib_python.client import MAX_BATCH, CallContext, CancelToken, ChatHandler, EventBatch
from ai_lib_python.errors import CancelledError
from ai_lib_python.types import ChatRequest, ChatResponse
from tests._support import KEY


def _frame(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _delta(i: int) -> bytes:
    return _frame({"id": "c1", "model": "gpt-4o", "choices": [
        {"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}]})


def _finish() -> bytes:
    return _frame({"id": "c1", "model": "gpt-4o", "choices": [
        {"index": 0, "delta": {}, "finish_reason": "stop"}]}) + b"data: [DONE]\n\n"


class Spy:
    """A layer that records the batches passing through it."""

    stage = 45

    def __init__(self) -> None:
        self.batches: list[list[Any]] = []

    def wrap(self, inner: ChatHandler) -> ChatHandler:
        spy = self

        class _Handler:
            async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
                return await inner.execute(request, ctx)

            async def stream(self, request: ChatRequest,
                             ctx: CallContext) -> AsyncIterator[EventBatch]:
                async for batch in inner.stream(request, ctx):
                    spy.batches.append(list(batch))
                    yield batch

            async def aclose(self) -> None:
                await inner.aclose()

        return _Handler()


async def _client(body: bytes, spy: Spy, **kw: Any) -> AiClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return await AiClient.create("openai/gpt-4o", api_key=KEY, base_url="http://mock/v1",
                                 transport=httpx.MockTransport(handler), layers=[spy], **kw)


@pytest.mark.parametrize("max_retries", [0, 2])
async def test_one_read_of_many_frames_passes_the_layers_in_bounded_batches(
        max_retries: int) -> None:
    n = 3 * MAX_BATCH + 17
    spy = Spy()
    body = b"".join(_delta(i) for i in range(n)) + _finish()
    client = await _client(body, spy, max_retries=max_retries)
    async with client, client.chat().user("go").stream() as stream:
        got = []
        async for event in stream:
            got.append(event)
            # Handed out one at a time and counted as they go.
            assert stream._ctx.events_yielded == len(got)  # type: ignore[attr-defined]
    sizes = [len(b) for b in spy.batches]
    assert all(0 < s <= MAX_BATCH for s in sizes)
    assert sizes[:3] == [MAX_BATCH] * 3  # the read's events, cut at the cap
    passed = [e for b in spy.batches for e in b]
    assert len(passed) == len(got) and all(a is b for a, b in zip(passed, got, strict=True))
    text = "".join(e.content for e in got if type(e) is PartialContentDelta)
    assert text == "".join(f"w{i} " for i in range(n))
    assert type(got[-1]) is StreamEnd and stream.response.content == text


async def test_an_in_stream_error_is_the_last_event_even_inside_one_read() -> None:
    error = _frame({"error": {"message": "overloaded", "type": "server_error",
                              "code": "server_error"}})
    body = _delta(0) + _delta(1) + error + _delta(2) + _finish()
    spy = Spy()
    got: list[Any] = []
    async with await _client(body, spy, max_retries=0) as client:
        with pytest.raises(ProviderError):
            async with client.chat().user("go").stream() as stream:
                async for event in stream:
                    got.append(event)
    assert [type(e) for e in got] == [PartialContentDelta, PartialContentDelta, StreamError]
    assert [e.content for e in got[:2]] == ["w0 ", "w1 "]


async def test_cancel_between_events_of_one_batch_stops_the_stream() -> None:
    body = b"".join(_delta(i) for i in range(10)) + _finish()
    spy = Spy()
    token = CancelToken()
    got: list[Any] = []
    async with await _client(body, spy, max_retries=0) as client:
        with pytest.raises(CancelledError):
            async with client.chat().user("go").cancel_token(token).stream() as stream:
                async for event in stream:
                    got.append(event)
                    if len(got) == 3:
                        token.cancel("enough")
    assert len(spy.batches) == 1 and len(spy.batches[0]) > 3  # the rest was already read
    assert len(got) == 3
