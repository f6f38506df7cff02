"""Fault injection, timing and scripting, checked with the server's own timestamps."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import itertools
import json
from typing import Any

import httpx
import openai
import pytest

from ai_lib_python.testing import Fault, ProviderEmulator, Raw, RecordedRequest, Reply
from tests.testing._helpers import raw_http, sse_events

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "go"}]}
STREAM = {**CHAT, "stream": True}
LONG = Reply(text="x" * 400, chunk_size=1, chunk_delay=0.002)


def _client(emu: ProviderEmulator, **kw: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=emu.url_for("openai"), **kw)


async def test_client_closing_a_stream_is_counted(emu: ProviderEmulator) -> None:
    emu.enqueue(LONG)
    async with _client(emu) as c, c.stream("POST", "/chat/completions", json=STREAM) as r:
        seen = 0
        async for line in r.aiter_lines():
            seen += line.startswith("data:")
            if seen == 3:
                break
    assert await emu.wait_for_disconnects(1) == 1
    rec = emu.last_request
    assert rec.response.outcome == "client_disconnected"
    assert rec.response.frames_written < 400
    assert await emu.wait_for_idle() == 0


async def test_client_giving_up_during_first_byte_delay_is_counted(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.first_byte_delay(5.0))
    async with _client(emu, timeout=0.1) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.post("/chat/completions", json=CHAT)
    assert await emu.wait_for_disconnects(1) == 1
    assert emu.last_request.response.first_byte_at is None


async def test_completed_streams_are_not_disconnects(emu: ProviderEmulator) -> None:
    async with _client(emu) as c:
        for _ in range(3):
            r = await c.post("/chat/completions", json=STREAM)
            assert r.text.endswith("data: [DONE]\n\n")
    assert emu.disconnects == 0
    assert [r.response.outcome for r in emu.requests] == ["complete"] * 3


@pytest.mark.parametrize("after", [0, 3])
async def test_server_disconnect_mid_stream(emu: ProviderEmulator, after: int) -> None:
    emu.enqueue(Fault.disconnect(after_chunks=after, reply=Reply(text="abcdefghijklmnop")))
    events: list[str] = []
    async with _client(emu) as c, c.stream("POST", "/chat/completions", json=STREAM) as r:
        assert r.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            async for line in r.aiter_lines():
                if line.startswith("data:"):
                    events.append(line)
    assert len(events) == after
    assert emu.last_request.response.outcome == "server_disconnected"
    assert emu.disconnects == 0


async def test_server_disconnect_before_response(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.disconnect())
    async with openai.AsyncOpenAI(base_url=emu.url_for("openai"), api_key="k", max_retries=0) as c:
        with pytest.raises(openai.APIConnectionError):
            await c.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "x"}]
            )


async def test_server_disconnect_in_plain_body(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.disconnect(after_chunks=1))
    async with _client(emu) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post("/chat/completions", json=CHAT)


async def test_stall_timing_from_server_timestamps(emu: ProviderEmulator) -> None:
    emu.enqueue(
        Fault.stall(after_chunks=2, seconds=0.2, reply=Reply(text="abcdefgh", chunk_size=2))
    )
    async with _client(emu) as c:
        r = await c.post("/chat/completions", json=STREAM)
    assert (
        "".join(
            json.loads(d)["choices"][0]["delta"].get("content") or ""
            for _, d in sse_events(r.text)[:-1]
        )
        == "abcdefgh"
    )
    times = emu.last_request.response.frame_times
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert 0.2 <= gaps[1] < 2.0  # the silence sits between frame 2 and frame 3
    assert max(gaps[:1] + gaps[2:]) < 0.2


async def test_stall_in_plain_body(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.stall(after_chunks=0, seconds=0.1))
    async with _client(emu) as c:
        r = await c.post("/chat/completions", json=CHAT)
    rec = emu.last_request
    assert r.json()["choices"][0]["message"]["content"] == "Echo: go"
    assert rec.response.finished_at is not None and rec.response.first_byte_at is not None
    assert 0.1 <= rec.response.finished_at - rec.response.first_byte_at < 1.0


async def test_first_byte_delay_and_latency(emu: ProviderEmulator) -> None:
    emu.latency = {"slow-model": 0.1, "*": 0.0}
    emu.enqueue(Fault.first_byte_delay(0.1))
    async with _client(emu) as c:
        await c.post("/chat/completions", json=CHAT)
        await c.post("/chat/completions", json={**CHAT, "model": "slow-model"})
        await c.post("/chat/completions", json=CHAT)
    waits = [r.response.first_byte_at - r.received_at for r in emu.requests]
    assert 0.1 <= waits[0] < 1.0
    assert 0.1 <= waits[1] < 1.0
    assert waits[2] < waits[0]


async def test_chunk_delay_writes_each_frame_apart(emu: ProviderEmulator) -> None:
    emu.enqueue(
        Reply(text="abcd", chunk_size=1, chunk_delay=0.01), Reply(text="abcd", chunk_size=1)
    )
    async with _client(emu) as c:
        await c.post("/chat/completions", json=STREAM)
        await c.post("/chat/completions", json=STREAM)
    delayed, batched = (r.response for r in emu.requests)
    assert all(count == 1 for count, _ in delayed.writes)
    assert delayed.frames_written == batched.frames_written == 7  # role, 4 deltas, finish, [DONE]
    assert len(batched.writes) == 1
    times = delayed.frame_times
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.01


async def test_malformed_frame_is_inserted(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.malformed(after_chunks=2, reply=Reply(text="abcdefgh")))
    async with _client(emu) as c:
        r = await c.post("/chat/completions", json=STREAM)
    datas = [d for _, d in sse_events(r.text)]
    assert datas[-1] == "[DONE]"
    datas = datas[:-1]
    bad = []
    for i, data in enumerate(datas):
        try:
            json.loads(data)
        except ValueError:
            bad.append(i)
    assert bad == [2]
    good = [json.loads(d) for i, d in enumerate(datas) if i != 2]
    assert "".join(g["choices"][0]["delta"].get("content") or "" for g in good) == "abcdefgh"


async def test_malformed_plain_body(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.malformed())
    async with _client(emu) as c:
        r = await c.post("/chat/completions", json=CHAT)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.content)


async def test_invalid_utf8(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.invalid_utf8(after_chunks=1), Fault.invalid_utf8())
    async with _client(emu) as c:
        streamed = await c.post("/chat/completions", json=STREAM)
        plain = await c.post("/chat/completions", json=CHAT)
    for body in (streamed.content, plain.content):
        assert b"\xff\xfe" in body
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
    frames = streamed.content.split(b"\n\n")
    assert b"\xff\xfe" in frames[1] and b'"content":"' in frames[1]


async def test_truncated_stream_ends_cleanly_mid_event(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.truncated(after_chunks=3, reply=Reply(text="abcdefghijkl")))
    async with _client(emu) as c:
        r = await c.post("/chat/completions", json=STREAM)  # complete HTTP framing: no error
    assert "[DONE]" not in r.text
    assert not r.text.endswith("\n\n")
    assert len(sse_events(r.text)) == 4
    assert emu.last_request.response.outcome == "truncated"


async def test_truncated_plain_body_is_short(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.truncated())
    async with _client(emu) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post("/chat/completions", json=CHAT)


async def test_stream_error_on_plain_request_is_an_http_error(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.stream_error(kind="overloaded"))
    async with httpx.AsyncClient(base_url=emu.base_url) as c:
        r = await c.post("/v1/messages", json={"messages": []})
    assert r.status_code == 529
    assert r.json()["error"]["type"] == "overloaded_error"


def test_retry_after_forms() -> None:
    when = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert Fault.status(429, retry_after=2).headers == {"retry-after": "2"}
    assert Fault.status(429, retry_after=1.5).headers == {"retry-after": "1.5"}
    assert Fault.status(429, retry_after=when).headers == {
        "retry-after": "Wed, 02 Jan 2030 03:04:05 GMT"
    }
    assert Fault.status(429, retry_after_ms=250).headers == {"retry-after-ms": "250"}
    parsed = email.utils.parsedate_to_datetime(
        Fault.status(503, retry_after=when).headers["retry-after"]
    )
    assert parsed == when
    with pytest.raises(ValueError):
        Fault.status(200)


async def test_sdk_honours_retry_after_ms(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.status(429, retry_after_ms=150), Reply(text="finally"))
    async with openai.AsyncOpenAI(base_url=emu.url_for("openai"), api_key="k", max_retries=1) as c:
        r = await c.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}]
        )
    assert r.choices[0].message.content == "finally"
    first, second = emu.requests
    assert first.response.status == 429 and second.response.status == 200
    assert first.response.finished_at is not None
    assert 0.14 <= second.received_at - first.response.finished_at < 1.5


async def test_status_fault_overrides_and_raw_body(emu: ProviderEmulator) -> None:
    emu.enqueue(
        Fault.status(
            400, message="bad tool", error_type="invalid_request_error", code="tool_use_failed"
        ),
        Fault.status(502, body="<html>bad gateway</html>", headers={"content-type": "text/html"}),
    )
    async with _client(emu) as c:
        custom = await c.post("/chat/completions", json=CHAT)
        html = await c.post("/chat/completions", json=CHAT)
    assert custom.json() == {
        "error": {
            "message": "bad tool",
            "type": "invalid_request_error",
            "param": None,
            "code": "tool_use_failed",
        }
    }
    assert custom.headers["x-request-id"].startswith("req_")
    assert html.status_code == 502 and html.text == "<html>bad gateway</html>"
    assert html.headers["content-type"] == "text/html"


async def test_responders_formats_defaults_and_reset(emu: ProviderEmulator) -> None:
    def sync_responder(req: RecordedRequest) -> Reply:
        return Reply(text=f"saw {req.json['messages'][0]['content']}")

    async def async_responder(req: RecordedRequest) -> Fault:
        await asyncio.sleep(0)
        return Fault.status(418)

    emu.enqueue(sync_responder, async_responder)
    emu.enqueue(Reply(text="anthropic only"), format="anthropic")
    emu.set_default(Reply(text="default"))
    async with httpx.AsyncClient(base_url=emu.base_url) as c:
        oa = "/v1/chat/completions"
        assert (await c.post(oa, json=CHAT)).json()["choices"][0]["message"]["content"] == "saw go"
        assert (await c.post(oa, json=CHAT)).status_code == 418
        anth = await c.post("/v1/messages", json={"messages": []})
        assert anth.json()["content"][0]["text"] == "anthropic only"
        assert (await c.post(oa, json=CHAT)).json()["choices"][0]["message"]["content"] == "default"
        emu.set_default(None)
        assert (await c.post(oa, json=CHAT)).json()["choices"][0]["message"][
            "content"
        ] == "Echo: go"
        emu.enqueue(Reply(text="dropped"))
        emu.reset()
        assert emu.pending == 0 and emu.requests == []
        assert (await c.post(oa, json=CHAT)).json()["choices"][0]["message"][
            "content"
        ] == "Echo: go"
    with pytest.raises(ValueError):
        emu.enqueue(Reply(), format="nope")
    with pytest.raises(TypeError):
        emu.enqueue("text")


async def test_raw_replays_bytes(emu: ProviderEmulator) -> None:
    frames = ['data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n', "data: [DONE]\n\n"]
    emu.enqueue(
        Raw(frames=frames, headers={"content-type": "text/event-stream"}),
        Raw(body=b'{"ok": true}', status=201),
        Raw(frames=[b"hi", b"\xc3", b"\xa9"]),  # one HTTP chunk per frame, even mid-character
    )
    async with _client(emu) as c:
        streamed = await c.post("/chat/completions", json=STREAM)
        plain = await c.post("/chat/completions", json=CHAT)
    assert streamed.text == "".join(frames)
    assert streamed.headers["transfer-encoding"] == "chunked"
    raw = await raw_http(
        emu.port,
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: e\r\nConnection: close\r\n"
        b"Content-Length: 2\r\n\r\n{}",
    )
    assert raw.endswith(b"\r\n\r\n2\r\nhi\r\n1\r\n\xc3\r\n1\r\n\xa9\r\n0\r\n\r\n")
    assert (plain.status_code, plain.json()) == (201, {"ok": True})


async def test_reply_headers_and_model_override(emu: ProviderEmulator) -> None:
    emu.enqueue(
        Reply(text="x", headers={"x-ratelimit-remaining-requests": "9"}, model="gpt-4o-2024-08-06")
    )
    async with _client(emu) as c:
        r = await c.post("/chat/completions", json=CHAT)
    assert r.headers["x-ratelimit-remaining-requests"] == "9"
    assert r.json()["model"] == "gpt-4o-2024-08-06"


async def test_a_failing_responder_answers_500(
    emu: ProviderEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(req: RecordedRequest) -> Reply:
        raise RuntimeError("responder bug")

    def junk(req: RecordedRequest) -> Any:
        return "not an item"

    emu.enqueue(broken, junk)
    async with _client(emu) as c:
        first = await c.post("/chat/completions", json=CHAT)
        second = await c.post("/chat/completions", json=CHAT)
        after = await c.post("/chat/completions", json=CHAT)
    assert first.status_code == 500 and "responder bug" in first.json()["error"]["message"]
    assert second.status_code == 500 and "not Reply/Fault/Raw" in second.json()["error"]["message"]
    assert after.status_code == 200
    assert "responder bug" in caplog.text


async def test_wrong_method_is_405(emu: ProviderEmulator) -> None:
    async with httpx.AsyncClient(base_url=emu.base_url) as c:
        r = await c.get("/v1/chat/completions")
        models = await c.post("/v1/models")
    assert r.status_code == 405
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert models.status_code == 404
