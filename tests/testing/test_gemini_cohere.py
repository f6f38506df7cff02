"""Gemini and Cohere wire formats, read back with plain httpx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ai_lib_python.testing import Fault, ProviderEmulator, Reply, ToolCallReply
from tests.testing._helpers import sse_events, sse_json

GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "hola"}]}]}


def _gemini_text(chunks: list[Any], index: int = 0) -> tuple[str, str]:
    text, thought = "", ""
    for chunk in chunks:
        for cand in chunk["candidates"]:
            if cand["index"] != index:
                continue
            for part in cand["content"]["parts"]:
                if "text" in part:
                    if part.get("thought"):
                        thought += part["text"]
                    else:
                        text += part["text"]
    return text, thought


async def _gemini(
    emu: ProviderEmulator, action: str, body: Any = None, **params: str
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=emu.url_for("gemini")) as c:
        return await c.post(
            f"/models/gemini-2.5-flash:{action}", params=params, json=body or GEMINI_BODY
        )


async def test_gemini_generate_content(emu: ProviderEmulator) -> None:
    emu.enqueue(
        Reply(text="Hola!", thinking="Spanish greeting.", usage=(9, 3), reasoning_tokens=20)
    )
    r = await _gemini(emu, "generateContent")
    body = r.json()
    assert r.headers["content-type"] == "application/json; charset=UTF-8"
    (cand,) = body["candidates"]
    assert cand["content"]["role"] == "model"
    assert cand["content"]["parts"] == [
        {"text": "Spanish greeting.", "thought": True},
        {"text": "Hola!"},
    ]
    assert (cand["finishReason"], cand["index"]) == ("STOP", 0)
    usage = body["usageMetadata"]
    assert (
        usage["promptTokenCount"],
        usage["candidatesTokenCount"],
        usage["thoughtsTokenCount"],
    ) == (9, 3, 20)
    assert usage["totalTokenCount"] == 32
    assert body["modelVersion"] == "gemini-2.5-flash"


async def test_gemini_sse_stream(emu: ProviderEmulator) -> None:
    emu.enqueue(
        Reply(text="The capital is Paris.", thinking="Easy one.", chunk_size=5, usage=(13, 8))
    )
    r = await _gemini(emu, "streamGenerateContent", alt="sse")
    assert r.headers["content-type"] == "text/event-stream"
    assert "\r\n\r\n" in r.text and not r.text.replace("\r\n\r\n", "").count("\n\n")
    chunks = sse_json(r.text, sep="\r\n\r\n")
    assert _gemini_text(chunks) == ("The capital is Paris.", "Easy one.")
    assert [c["candidates"][0].get("finishReason") for c in chunks][-1] == "STOP"
    assert all("finishReason" not in c["candidates"][0] for c in chunks[:-1])
    assert chunks[-1]["usageMetadata"]["candidatesTokenCount"] == 8
    assert all("candidatesTokenCount" not in c["usageMetadata"] for c in chunks[:-1])


async def test_gemini_json_array_stream(emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(text="The capital is Paris.", chunk_size=5))
    r = await _gemini(emu, "streamGenerateContent")
    assert r.headers["content-type"] == "application/json; charset=UTF-8"
    assert r.text.startswith("[{") and r.text.endswith("}\n]")
    assert r.text.count("\n,\r\n") == len(json.loads(r.text)) - 1
    chunks = json.loads(r.text)
    assert _gemini_text(chunks) == ("The capital is Paris.", "")
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


async def test_gemini_function_calls_whole_with_thought_signature(emu: ProviderEmulator) -> None:
    calls = [
        ToolCallReply("get_weather", {"city": "Paris"}),
        ToolCallReply("get_time", {"tz": "CET"}),
    ]
    emu.enqueue(Reply(thinking="Two tools.", tool_calls=calls))
    r = await _gemini(emu, "streamGenerateContent", alt="sse")
    parts = [
        p for c in sse_json(r.text, "\r\n\r\n") for p in c["candidates"][0]["content"]["parts"]
    ]
    function_parts = [p for p in parts if "functionCall" in p]
    assert [p["functionCall"] for p in function_parts] == [
        {"name": "get_weather", "args": {"city": "Paris"}},
        {"name": "get_time", "args": {"tz": "CET"}},
    ]
    assert "thoughtSignature" in function_parts[0] and "thoughtSignature" not in function_parts[1]
    chunks = sse_json(r.text, "\r\n\r\n")
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


async def test_gemini_candidate_count(emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(candidates=["alpha beta", "gamma"], chunk_size=3))
    body = {**GEMINI_BODY, "generationConfig": {"candidateCount": 2}}
    r = await _gemini(emu, "streamGenerateContent", body, alt="sse")
    chunks = sse_json(r.text, "\r\n\r\n")
    assert _gemini_text(chunks, 0)[0] == "alpha beta"
    assert _gemini_text(chunks, 1)[0] == "gamma"
    assert [c["candidates"][0]["index"] for c in chunks[:4]] == [0, 1, 0, 1]
    finished = {c["candidates"][0]["index"] for c in chunks if "finishReason" in c["candidates"][0]}
    assert finished == {0, 1}


async def test_gemini_echo_and_thoughts_when_asked(emu: ProviderEmulator) -> None:
    body = {**GEMINI_BODY, "generationConfig": {"thinkingConfig": {"includeThoughts": True}}}
    r = await _gemini(emu, "generateContent", body)
    assert _gemini_text([r.json()]) == ("Echo: hola", "Reasoning about: hola")


@pytest.mark.parametrize("sse", [True, False])
async def test_gemini_error_inside_stream(emu: ProviderEmulator, sse: bool) -> None:
    emu.enqueue(Fault.stream_error(after_chunks=1, kind="overloaded", reply=Reply(text="abcdefgh")))
    r = await _gemini(emu, "streamGenerateContent", **({"alt": "sse"} if sse else {}))
    assert r.status_code == 200
    chunks = sse_json(r.text, "\r\n\r\n") if sse else json.loads(r.text)
    assert chunks[0]["candidates"][0]["content"]["parts"] == [{"text": "abcd"}]
    assert chunks[-1] == {
        "error": {
            "code": 503,
            "message": "The model is overloaded. Please try again later.",
            "status": "UNAVAILABLE",
        }
    }


async def test_gemini_errors_and_auth(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.status(429, retry_after=1))
    r = await _gemini(emu, "generateContent")
    assert r.status_code == 429
    assert r.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert r.json()["error"]["code"] == 429

    emu.require_key = "g-key"
    async with httpx.AsyncClient(base_url=emu.url_for("gemini")) as c:
        path = "/models/gemini-2.5-flash:generateContent"
        by_query = await c.post(path, params={"key": "g-key"}, json=GEMINI_BODY)
        by_header = await c.post(path, headers={"x-goog-api-key": "g-key"}, json=GEMINI_BODY)
        wrong = await c.post(path, params={"key": "nope"}, json=GEMINI_BODY)
        missing = await c.post(path, json=GEMINI_BODY)
    assert (by_query.status_code, by_header.status_code) == (200, 200)
    assert [r.auth for r in emu.requests[-4:]] == ["query", "x-goog-api-key", "query", None]
    assert wrong.status_code == 400
    assert wrong.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert wrong.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    assert missing.status_code == 403
    assert missing.json()["error"]["status"] == "PERMISSION_DENIED"


async def test_gemini_models_list(emu: ProviderEmulator) -> None:
    async with httpx.AsyncClient() as c:
        r = await c.get(emu.url_for("gemini") + "/models")
    assert "models/gemini-2.5-flash" in [m["name"] for m in r.json()["models"]]


# -- Cohere --------------------------------------------------------------------------

COHERE_BODY = {"model": "command-a-03-2025", "messages": [{"role": "user", "content": "hey"}]}


async def _cohere(emu: ProviderEmulator, **extra: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=emu.url_for("cohere")) as c:
        return await c.post("/chat", json={**COHERE_BODY, **extra})


async def test_cohere_chat(emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(text="Hello!", thinking="greet back", usage=(5, 2)))
    body = (await _cohere(emu)).json()
    assert body["finish_reason"] == "COMPLETE"
    assert body["message"]["content"] == [
        {"type": "thinking", "thinking": "greet back"},
        {"type": "text", "text": "Hello!"},
    ]
    assert body["usage"]["tokens"] == {"input_tokens": 5, "output_tokens": 2}
    assert body["usage"]["billed_units"] == {"input_tokens": 5, "output_tokens": 2}


async def test_cohere_stream_text(emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(text="Hello world", chunk_size=4))
    r = await _cohere(emu, stream=True)
    events = sse_events(r.text)
    assert [name for name, _ in events] == [
        "message-start",
        "content-start",
        "content-delta",
        "content-delta",
        "content-delta",
        "content-end",
        "message-end",
    ]
    payloads = [json.loads(data) for _, data in events]
    assert all(p["type"] == name for (name, _), p in zip(events, payloads, strict=True))
    text = "".join(
        p["delta"]["message"]["content"]["text"] for p in payloads if p["type"] == "content-delta"
    )
    assert text == "Hello world"
    assert payloads[-1]["delta"]["finish_reason"] == "COMPLETE"


async def test_cohere_stream_tool_calls(emu: ProviderEmulator) -> None:
    emu.enqueue(
        Reply(text="I will look.", tool_calls=[ToolCallReply("lookup", {"q": "x"})], chunk_size=50)
    )
    r = await _cohere(emu, stream=True)
    payloads = [p for p in sse_json(r.text)]
    types = [p["type"] for p in payloads]
    assert types == [
        "message-start",
        "tool-plan-delta",
        "tool-call-start",
        "tool-call-delta",
        "tool-call-end",
        "message-end",
    ]
    start = payloads[2]["delta"]["message"]["tool_calls"]
    assert (start["type"], start["function"]["name"]) == ("function", "lookup")
    assert json.loads(payloads[3]["delta"]["message"]["tool_calls"]["function"]["arguments"]) == {
        "q": "x"
    }
    assert payloads[-1]["delta"]["finish_reason"] == "TOOL_CALL"


async def test_cohere_errors(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.status(429), Fault.stream_error(after_chunks=2))
    limited = await _cohere(emu)
    assert limited.status_code == 429
    assert set(limited.json()) == {"id", "message"}
    streamed = await _cohere(emu, stream=True)
    last = sse_json(streamed.text)[-1]
    assert last["type"] == "message-end"
    assert last["delta"]["finish_reason"] == "ERROR"
