"""The emulator's JSON shapes must be ones real providers send.

Compared against a corpus of recorded provider exchanges (one JSON file per exchange,
``{"provider", "api", "request", "response": {"status", "body" | "stream",
"stream_format"}}``). Every key path the emulator emits must occur in some recording
of the same API and mode. The corpus is looked up in ``$AI_LIB_RECORDED_DIR``, then in
``tests/data/recorded``; the module is skipped without it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ai_lib_python.testing import Fault, ProviderEmulator, Reply, ToolCallReply
from tests.testing._helpers import sse_events

_DEFAULT = Path(__file__).resolve().parents[1] / "data" / "recorded"
CORPUS = Path(os.environ.get("AI_LIB_RECORDED_DIR", _DEFAULT))

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason="recorded provider traffic not available"
)

FULL = Reply(
    text="Sure, checking both.",
    thinking="Two lookups are needed.",
    tool_calls=[
        ToolCallReply("get_weather", {"city": "Paris"}),
        ToolCallReply("get_time", {"tz": "CET"}),
    ],
)
TEXT_ONLY = Reply(text="Just text.", thinking="Short thought.")


OPAQUE = {"input", "args"}  # tool arguments: the caller's data, not the provider's shape


def key_paths(obj: Any, prefix: str = "") -> Iterator[str]:
    """Every key path of a JSON value, lists written as ``[]``."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            path = f"{prefix}.{key}"
            yield path
            if key not in OPAQUE:
                yield from key_paths(value, path)
    elif isinstance(obj, list):
        for item in obj:
            yield from key_paths(item, prefix + "[]")


def _recordings(api: str, streamed: bool, providers: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for provider in providers:
        for path in sorted((CORPUS / provider).glob("*.json")):
            rec = json.loads(path.read_text())
            if rec["api"] == api and ("stream" in rec["response"]) == streamed:
                out.append(rec)
    return out


def _recorded_payloads(
    recs: list[dict[str, Any]], status: int = 200
) -> list[tuple[str | None, Any]]:
    payloads: list[tuple[str | None, Any]] = []
    for rec in recs:
        response = rec["response"]
        if response["status"] != status:
            continue
        if "body" in response:
            payloads.append((None, response["body"]))
        elif response.get("stream_format") == "json_array":
            payloads.extend((None, item) for item in json.loads(response["stream"]))
        else:
            sep = "\r\n\r\n" if "\r\n\r\n" in response["stream"] else "\n\n"
            for name, data in sse_events(response["stream"], sep):
                if data and data != "[DONE]":
                    payloads.append((name, json.loads(data)))
    return payloads


def _paths(payloads: Iterable[tuple[str | None, Any]]) -> set[str]:
    return {f"{name or ''}{p}" for name, payload in payloads for p in key_paths(payload)}


def _assert_subset(ours: set[str], real: set[str]) -> None:
    extra = sorted(ours - real)
    assert not extra, f"shapes no recording has: {extra}"


async def _post(
    emu: ProviderEmulator, path: str, body: Any, reply: Reply | Fault
) -> httpx.Response:
    emu.enqueue(reply)
    async with httpx.AsyncClient(base_url=emu.base_url) as client:
        return await client.post(path, json=body)


def _ours(r: httpx.Response, sep: str = "\n\n") -> list[tuple[str | None, Any]]:
    if r.headers["content-type"].startswith("text/event-stream"):
        return [(n, json.loads(d)) for n, d in sse_events(r.text, sep) if d != "[DONE]"]
    body = r.json()
    return [(None, item) for item in body] if isinstance(body, list) else [(None, body)]


OPENAI_BODY = {"model": "deepseek-reasoner", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("streamed", [False, True])
async def test_openai_chat_shapes(emu: ProviderEmulator, streamed: bool) -> None:
    recs = _recordings("chat_completions", streamed, ["openai", "deepseek"])
    body = {**OPENAI_BODY, "stream": streamed, "stream_options": {"include_usage": True}}
    ours: list[tuple[str | None, Any]] = []
    for reply in (FULL, TEXT_ONLY):
        ours += _ours(
            await _post(emu, "/v1/chat/completions", body if streamed else OPENAI_BODY, reply)
        )
    _assert_subset(_paths(ours), _paths(_recorded_payloads(recs)))


@pytest.mark.parametrize("streamed", [False, True])
async def test_anthropic_shapes(emu: ProviderEmulator, streamed: bool) -> None:
    recs = _recordings("messages", streamed, ["anthropic"])
    body = {
        "model": "claude-x",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": streamed,
    }
    ours: list[tuple[str | None, Any]] = []
    for reply in (FULL, TEXT_ONLY):
        ours += _ours(await _post(emu, "/v1/messages", body, reply))
    _assert_subset(_paths(ours), _paths(_recorded_payloads(recs)))


async def test_anthropic_event_order_matches_a_recording(emu: ProviderEmulator) -> None:
    # thinking block, then tool_use blocks, no text: the same blocks as the reply below
    rec = json.loads((CORPUS / "anthropic" / "stream_thinking_tool_use.json").read_text())

    def collapsed(names: list[str | None]) -> list[str | None]:
        return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]

    recorded = collapsed([n for n, _ in sse_events(rec["response"]["stream"])])
    reply = Reply(
        thinking="Think.", tool_calls=[ToolCallReply("f", {})] * len(rec["expect"]["tool_calls"])
    )
    body = {"model": "claude-x", "max_tokens": 64, "messages": [], "stream": True}
    r = await _post(emu, "/v1/messages", body, reply)
    assert collapsed([n for n, _ in sse_events(r.text)]) == recorded
    assert 'event: ping\ndata: {"type": "ping"}\n\n' in rec["response"]["stream"]
    assert 'event: ping\ndata: {"type": "ping"}\n\n' in r.text


@pytest.mark.parametrize("mode", ["plain", "sse", "json_array"])
async def test_gemini_shapes(emu: ProviderEmulator, mode: str) -> None:
    recs = _recordings("generate_content", mode != "plain", ["gemini"])
    if mode != "plain":
        recs = [r for r in recs if r["response"]["stream_format"] == mode]
    action = "generateContent" if mode == "plain" else "streamGenerateContent"
    path = f"/v1beta/models/gemini-2.5-flash:{action}" + ("?alt=sse" if mode == "sse" else "")
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    ours: list[tuple[str | None, Any]] = []
    for reply in (FULL, TEXT_ONLY):
        r = await _post(emu, path, body, reply)
        ours += _ours(r, "\r\n\r\n")
        if mode == "sse":
            assert r.text.endswith("}\r\n\r\n") and "}\n\n" not in r.text
        if mode == "json_array":
            assert r.text.startswith("[{\n") and "}\n,\r\n{" in r.text and r.text.endswith("}\n]")
            recorded = recs[0]["response"]["stream"]
            assert (
                recorded.startswith("[{\n")
                and "}\n,\r\n{" in recorded
                and recorded.endswith("}\n]")
            )
    _assert_subset(_paths(ours), _paths(_recorded_payloads(recs)))


async def test_cohere_shapes(emu: ProviderEmulator) -> None:
    recs = _recordings("chat_v2", False, ["cohere"])
    body = {"model": "command-a", "messages": [{"role": "user", "content": "hi"}]}
    r = await _post(emu, "/v2/chat", body, TEXT_ONLY)
    _assert_subset(_paths(_ours(r)), _paths(_recorded_payloads(recs)))


@pytest.mark.parametrize(
    ("provider", "api", "path", "status"),
    [
        ("openai", "chat_completions", "/v1/chat/completions", 404),
        ("anthropic", "messages", "/v1/messages", 400),
        ("gemini", "generate_content", "/v1beta/models/gemini-x:generateContent", 404),
    ],
)
async def test_error_body_shapes(
    emu: ProviderEmulator, provider: str, api: str, path: str, status: int
) -> None:
    recs = _recordings(api, False, [provider])
    r = await _post(emu, path, {"model": "m", "messages": [], "contents": []}, Fault.status(status))
    assert r.status_code == status
    recorded = _paths(_recorded_payloads(recs, status))
    assert recorded, "no recorded error of that status"
    assert _paths(_ours(r)) == recorded
