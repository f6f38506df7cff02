"""What goes on the wire: requests on the client's own httpx client are built by the
transport (parsed URL and header sets reused) with exactly what httpx's build_request
would merge in; a client passed in keeps build_request and all of its settings."""

from __future__ import annotations

import json
from typing import Any

import httpx

from ai_lib_python import AiClient
from ai_lib_python.transport import Timeout
from tests._support import KEY

BODY = {"id": "r1", "model": "gpt-4o", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        headers = {"content-type": "application/json"}
        if len(self.requests) == 1:
            headers["set-cookie"] = "session=abc; Path=/"
        return httpx.Response(200, content=json.dumps(BODY).encode(), headers=headers)


async def test_own_client_requests_carry_defaults_timeouts_and_cookies() -> None:
    rec = Recorder()
    timeout = Timeout(connect=3.0, first_token=20.0, idle=7.0, total=60.0)
    async with await AiClient.create("openai/gpt-4o", api_key=KEY, base_url="http://mock/v1",
                                     transport=httpx.MockTransport(rec), max_retries=0,
                                     timeout=timeout) as client:
        for _ in range(3):
            assert (await client.chat().user("hi").execute()).content == "hi"
    first, second, third = rec.requests
    for req in rec.requests:
        assert str(req.url) == "http://mock/v1/chat/completions"
        assert req.headers["authorization"] == f"Bearer {KEY}"
        assert req.headers["user-agent"].startswith("ai-lib-python/")  # ours wins
        assert req.headers["accept-encoding"]  # httpx's defaults still merged in
        assert req.headers["content-length"] == str(len(req.content))
        assert req.extensions["timeout"] == {"connect": 3.0, "read": 7.0, "write": 7.0,
                                             "pool": 3.0}
    assert "cookie" not in first.headers
    # The cookie the provider set comes back, as httpx's build_request would send it.
    assert second.headers["cookie"] == third.headers["cookie"] == "session=abc"
    # Each request has its own header object: reusing parsed sets never shares state.
    assert second.headers is not third.headers


async def test_per_call_query_and_timeout_reach_the_request() -> None:
    rec = Recorder()
    async with await AiClient.create("gemini/gemini-2.5-flash", api_key=KEY,
                                     base_url="http://mock/v1beta",
                                     transport=httpx.MockTransport(_gemini(rec)),
                                     max_retries=0) as client:
        await client.chat().user("hi").timeout(5.0).execute()
        stream = client.chat().user("hi").stream()
        async with stream:
            async for _ in stream:
                pass
    plain, streamed = rec.requests
    assert plain.url.path.endswith(":generateContent") and not plain.url.query
    assert streamed.url.path.endswith(":streamGenerateContent")
    assert streamed.url.params["alt"] == "sse"
    assert plain.extensions["timeout"]["connect"] <= 5.0  # the call's own timeout


def _gemini(rec: Recorder) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        rec.requests.append(request)
        frame = {"candidates": [{"index": 0, "content": {"role": "model", "parts": [
            {"text": "hi"}]}, "finishReason": "STOP"}]}
        if request.url.params.get("alt") == "sse":
            return httpx.Response(200, content=b"data: " + json.dumps(frame).encode() + b"\n\n",
                                  headers={"content-type": "text/event-stream"})
        return httpx.Response(200, content=json.dumps(frame).encode(),
                              headers={"content-type": "application/json"})
    return handler


async def test_a_client_passed_in_keeps_its_own_defaults() -> None:
    rec = Recorder()
    own = httpx.AsyncClient(transport=httpx.MockTransport(rec), headers={"x-team": "search"},
                            params={"tenant": "t1"})
    async with await AiClient.create("openai/gpt-4o", api_key=KEY, base_url="http://mock/v1",
                                     http_client=own, max_retries=0) as client:
        await client.chat().user("hi").execute()
    (req,) = rec.requests
    assert req.headers["x-team"] == "search" and req.url.params["tenant"] == "t1"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    await own.aclose()
