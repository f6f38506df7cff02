"""The emulator's HTTP/1.1 server, driven with raw bytes and with httpx."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from ai_lib_python.testing import ProviderEmulator, Reply
from tests.testing._helpers import raw_http, split_responses

CHAT = b"/v1/chat/completions"


def _post(body: bytes, *extra: bytes, path: bytes = CHAT) -> bytes:
    headers = [b"POST " + path + b" HTTP/1.1", b"Host: test", b"Content-Type: application/json"]
    headers.extend(extra)
    if not any(h.lower().startswith(b"transfer-encoding") for h in extra):
        headers.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(headers) + b"\r\n\r\n" + body


def _chat(text: str) -> bytes:
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}).encode()


async def test_keep_alive_serves_pipelined_requests_in_order(emu: ProviderEmulator) -> None:
    raw = await raw_http(emu.port, _post(_chat("one")) + _post(_chat("two"), b"Connection: close"))
    responses = split_responses(raw)
    assert [status for status, _, _ in responses] == [200, 200]
    texts = [json.loads(body)["choices"][0]["message"]["content"] for _, _, body in responses]
    assert texts == ["Echo: one", "Echo: two"]
    assert "connection" not in responses[0][1]
    assert responses[1][1]["connection"] == "close"


async def test_httpx_reuses_one_connection(emu: ProviderEmulator) -> None:
    async with httpx.AsyncClient(base_url=emu.url_for("openai")) as client:
        for text in ("a", "b", "c"):
            r = await client.post(
                "/chat/completions", json={"messages": [{"role": "user", "content": text}]}
            )
            assert r.json()["choices"][0]["message"]["content"] == f"Echo: {text}"
        assert emu.open_connections == 1
    assert await emu.wait_for_idle() == 0


async def test_chunked_request_body(emu: ProviderEmulator) -> None:
    body = _chat("chunked hello")
    encoded = b"".join(
        b"%x;ext=1\r\n%b\r\n" % (len(body[i : i + 7]), body[i : i + 7])
        for i in range(0, len(body), 7)
    )
    encoded += b"0\r\nX-Trailer: yes\r\n\r\n"
    raw = await raw_http(
        emu.port, _post(encoded, b"Transfer-Encoding: chunked", b"Connection: close")
    )
    ((status, _, payload),) = split_responses(raw)
    assert status == 200
    assert json.loads(payload)["choices"][0]["message"]["content"] == "Echo: chunked hello"
    assert emu.last_request.json["messages"][0]["content"] == "chunked hello"


async def test_expect_100_continue(emu: ProviderEmulator) -> None:
    body = _chat("expect")
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
    head = _post(body, b"Expect: 100-continue", b"Connection: close")[: -len(body)]
    writer.write(head)
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    writer.write(body)
    rest = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    await writer.wait_closed()
    ((status, _, payload),) = split_responses(rest)
    assert status == 200
    assert b"Echo: expect" in payload


async def test_http_10_closes_by_default(emu: ProviderEmulator) -> None:
    request = _post(_chat("old")).replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    raw = await raw_http(emu.port, request)  # returns only because the server closes
    ((status, headers, _),) = split_responses(raw)
    assert status == 200
    assert headers["connection"] == "close"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
        (b"POST /v1/chat/completions HTTP/1.1\r\nBad Header\r\n\r\n", 400),
        (b"POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    ],
)
async def test_bad_requests_get_an_error_and_a_close(
    emu: ProviderEmulator, request_bytes: bytes, status: int
) -> None:
    raw = await raw_http(emu.port, request_bytes)
    assert raw.startswith(b"HTTP/1.1 %d " % status)
    assert b"connection: close" in raw.lower()


async def test_unknown_path_is_a_404_in_openai_shape(emu: ProviderEmulator) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.post(emu.base_url + "/nope", json={})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "unknown_url"


async def test_streamed_response_is_chunked_and_plain_one_has_length(emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(text="abc"), Reply(text="abc"))
    async with httpx.AsyncClient(base_url=emu.url_for("openai")) as client:
        plain = await client.post("/chat/completions", json={"messages": []})
        streamed = await client.post("/chat/completions", json={"messages": [], "stream": True})
    assert plain.headers["content-length"] == str(len(plain.content))
    assert "transfer-encoding" not in plain.headers
    assert streamed.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in streamed.headers
    assert streamed.headers["content-type"].startswith("text/event-stream")


async def test_recorded_request_fields(emu: ProviderEmulator) -> None:
    async with httpx.AsyncClient() as client:
        await client.post(
            emu.url_for("gemini") + "/models/gemini-2.5-flash:generateContent?key=k1&x=%2Fy",
            json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
            headers={"X-Custom": "Value"},
        )
    rec = emu.last_request
    assert rec.method == "POST"
    assert rec.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert rec.query == {"key": "k1", "x": "/y"}
    assert rec.headers["x-custom"] == "Value"
    assert rec.json["contents"][0]["parts"][0]["text"] == "hi"
    assert (rec.format, rec.model, rec.stream, rec.auth) == (
        "gemini",
        "gemini-2.5-flash",
        False,
        "query",
    )
    assert rec.response.status == 200 and rec.response.outcome == "complete"
    assert "k1" not in repr(rec)  # credentials stay out of reprs


async def test_stop_resets_busy_and_idle_connections() -> None:
    emu = await ProviderEmulator().start()
    client = httpx.AsyncClient(base_url=emu.url_for("openai"))
    idle = httpx.AsyncClient(base_url=emu.url_for("openai"))
    await idle.post("/chat/completions", json={"messages": []})
    emu.enqueue(Reply(text="x" * 50, chunk_size=1, chunk_delay=0.01))
    async with client.stream(
        "POST", "/chat/completions", json={"messages": [], "stream": True}
    ) as r:
        lines = r.aiter_lines()
        await lines.__anext__()
        await emu.aclose()
        with pytest.raises(httpx.HTTPError):
            async for _ in lines:
                pass
    assert emu.open_connections == 0
    assert emu.disconnects == 0  # a shutdown is not the client's doing
    await client.aclose()
    await idle.aclose()
