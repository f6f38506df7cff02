"""Replay real recorded provider traffic through the real client over real HTTP.

Every file in tests/data/recorded is one exchange recorded from a live provider
API. For each one, the equivalent request is built with the public API and sent
by ``AiClient`` to a loopback server that answers with the recorded response
byte for byte. The test then checks that the client sent what the provider got
(path, model, roles, system placement, tools, tool choice, max tokens,
temperature, auth) and that it read back what the provider said: the ``expect``
block, which was computed from the recorded response by code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from ai_lib_python import (
    AiClient,
    ChatResponse,
    PartialContentDelta,
    ProtocolLoader,
    ProtocolManifest,
    ProviderError,
    StreamEnd,
    StreamError,
    ThinkingBlock,
    ThinkingDelta,
    ToolCallEnded,
    ToolCallStarted,
    ToolUseBlock,
)
from ai_lib_python.testing import ProviderEmulator, RecordedRequest
from tests.replay._chunks import MAX_CHUNK, chunk_plan
from tests.replay._corpus import DATA_DIR, EXPECTED_FILES, Recording, load_recordings
from tests.replay._facts import wire_facts
from tests.replay._requests import to_chat_request

RECORDINGS = load_recordings()
API_KEY = "test-key-replay-5c1f0e9a"
STANDARD_FINISH = frozenset(
    ("end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal", "pause_turn", "other")
)
# What each raw finish reason in the corpus means; a turn that called tools is tool_use.
FINISH_MEANING = {
    "stop": "end_turn", "end_turn": "end_turn", "STOP": "end_turn", "COMPLETE": "end_turn",
    "tool_calls": "tool_use", "tool_use": "tool_use", "length": "max_tokens",
    "stop_sequence": "stop_sequence",
}
# The standard HTTP status table (errors/_codes.py) for the statuses in the corpus.
STANDARD_CODE_BY_STATUS = {400: "E1001", 401: "E1002", 403: "E1003", 404: "E1004",
                           429: "E2001", 500: "E3001", 503: "E3002"}
# How each real API takes the key; everything else takes ``Authorization: Bearer``.
AUTH_HEADER = {"anthropic": ("x-api-key", API_KEY), "gemini": ("x-goog-api-key", API_KEY)}
# Max-tokens field names a provider accepts besides the one the recording used.
# OpenRouter documents ``max_tokens`` and also honours ``max_completion_tokens``
# (the recording sent that one and got exactly 10 completion tokens back).
MAX_TOKENS_ALIASES = {"openrouter": frozenset(("max_tokens", "max_completion_tokens"))}
# Request headers the corpus kept; when recorded, the client must send the same value.
KEPT_HEADERS = ("anthropic-version", "anthropic-beta", "openai-beta")

# Recorded parameters that ChatRequest has no field for, sent through extra_body:
# prompt caching (OpenAI), OpenRouter ``reasoning``, z.ai / adaptive Anthropic
# ``thinking``, Anthropic ``output_config``, Gemini ``safetySettings`` and the
# generationConfig keys without a standard name, and provider (non-function) tools.
NO_STANDARD_NAME = frozenset((
    "prompt_cache_key", "prompt_cache_options", "reasoning", "thinking", "output_config",
    "safetySettings", "generationConfig", "tools",
))
GEMINI_STANDARD = frozenset((
    "temperature", "topP", "topK", "maxOutputTokens", "stopSequences", "candidateCount",
    "seed", "presencePenalty", "frequencyPenalty",
))

_LOADER = ProtocolLoader()

# Recordings whose data, not the client, cannot pass: id -> reason.
DATA_XFAIL: dict[str, str] = {}


def _params() -> list[Any]:
    out = []
    for rec in RECORDINGS:
        marks = []
        if rec.id in DATA_XFAIL:
            marks.append(pytest.mark.xfail(strict=True, reason=DATA_XFAIL[rec.id]))
        out.append(pytest.param(rec, id=rec.id, marks=marks))
    return out


@pytest.fixture
async def server() -> AsyncIterator[ProviderEmulator]:
    """The provider emulator, answering each request with the recorded bytes."""
    async with ProviderEmulator() as emu:
        yield emu


# -- the corpus itself --------------------------------------------------------------------


def test_every_recording_is_collected() -> None:
    ids = [rec.id for rec in RECORDINGS]
    assert len(ids) == EXPECTED_FILES
    assert len(set(ids)) == len(ids)
    listed = {
        line.split("\t", 1)[0]
        for line in (DATA_DIR / "SOURCES.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    assert listed == {f"{rid}.json" for rid in ids}
    assert (DATA_DIR / "README.md").is_file()


def test_chunk_plan_cuts_lines_and_characters() -> None:
    data = ("data: {\"text\": \"Pelé 😊 naïve\"}\n\n" * 20).encode("utf-8")
    sizes = chunk_plan(data, "seed")
    assert sum(sizes) == len(data)
    assert all(1 <= s <= MAX_CHUNK for s in sizes)
    assert len(set(sizes)) > 5
    cuts = set()
    pos = 0
    for s in sizes:
        pos += s
        cuts.add(pos)
    inside_char = [c for c in cuts if c < len(data) and 0x80 <= data[c] < 0xC0]
    assert inside_char, "no chunk boundary falls inside a multi-byte character"
    assert chunk_plan(data, "seed") == sizes


def test_extra_body_carries_only_parameters_without_a_standard_name() -> None:
    """Standard parameters must go through their ChatRequest fields, so the replay
    tests the client's own mapping; extra_body is only for the rest."""
    for rec in RECORDINGS:
        extra = to_chat_request(rec).extra_body or {}
        assert set(extra) <= NO_STANDARD_NAME, (rec.id, sorted(extra))
        assert not set(extra.get("generationConfig", {})) & GEMINI_STANDARD, rec.id
        assert all(t.get("type") != "function" for t in extra.get("tools", [])), rec.id


# -- the replay ---------------------------------------------------------------------------


@pytest.mark.parametrize("rec", _params())
async def test_replay(rec: Recording, server: ProviderEmulator) -> None:
    manifest = await _LOADER.load_provider(rec.manifest_id)
    server.enqueue(rec.raw())
    base_url = server.base_url + urlsplit(manifest.base_url or "").path
    request = to_chat_request(rec)
    expect = rec.expect
    checks: list[Callable[[], None]] = [lambda: check_request(rec, manifest, server)]

    async with await AiClient.create(
        f"{rec.manifest_id}/{rec.model}", base_url=base_url, api_key=API_KEY, max_retries=0
    ) as client:
        if "error" in expect:
            with pytest.raises(ProviderError) as info:
                if rec.is_stream:
                    async with client.stream(request) as s:
                        _ = [e async for e in s]
                else:
                    await client.execute(request)
            error = info.value
            checks.append(lambda: check_http_error(rec, error))
        elif rec.is_stream:
            events: list[Any] = []
            async with client.stream(request) as s:
                if "stream_error" in expect:
                    with pytest.raises(ProviderError) as info:
                        async for event in s:
                            events.append(event)
                    error = info.value
                    checks.append(lambda: check_stream_error(rec, error, events))
                else:
                    async for event in s:
                        events.append(event)
                resp = s.response
            checks.append(lambda: check_events(rec, events, resp))
            checks.append(lambda: check_chunked(rec, server))
            checks.append(lambda: check_response(rec, resp))
        else:
            resp = await client.execute(request)
            checks.append(lambda: check_response(rec, resp))
    run_checks(checks)


def run_checks(checks: list[Callable[[], None]]) -> None:
    """Run every check, so a request mismatch does not hide the response checks."""
    failures = []
    for check in checks:
        try:
            check()
        except AssertionError as exc:
            failures.append(str(exc))
    if failures:
        raise AssertionError("\n\n".join(failures))


# -- request checks -----------------------------------------------------------------------


def check_request(rec: Recording, manifest: ProtocolManifest,
                  server: ProviderEmulator) -> None:
    assert server.requests, "the client sent nothing"
    got: RecordedRequest = server.requests[0]
    recorded = rec.request
    assert got.method == recorded["method"]
    assert got.path == recorded["url_path"], (
        f"manifest {manifest.id}: base_url {manifest.base_url!r} + chat path give {got.path!r}, "
        f"the provider was called at {recorded['url_path']!r}")
    want_query = dict(recorded.get("query") or {})
    if rec.api == "generate_content" and rec.is_stream:
        want_query["alt"] = "sse"  # the client always asks Gemini for SSE
    assert got.query == want_query
    assert got.headers.get("content-type", "").startswith("application/json")
    assert isinstance(got.json, dict), "the request body is not a JSON object"

    # Auth in the provider's form, and the key nowhere else.
    header, value = AUTH_HEADER.get(rec.manifest_id, ("authorization", f"Bearer {API_KEY}"))
    assert got.headers.get(header) == value, f"{header} header: {got.headers.get(header)!r}"
    others = {k: v for k, v in got.headers.items() if k != header}
    assert not any(API_KEY in v for v in others.values())
    assert not any(API_KEY in v for v in got.query.values())
    assert API_KEY.encode() not in got.body
    for name in KEPT_HEADERS:
        if name in recorded.get("headers", {}):
            assert got.headers.get(name) == recorded["headers"][name], name
    if rec.api == "messages":
        assert "anthropic-version" in got.headers

    want = wire_facts(rec.api, recorded["body"], recorded["url_path"])
    have = wire_facts(rec.api, got.json, got.path)
    assert have.model == want.model == rec.model
    assert have.stream == want.stream == rec.is_stream
    assert have.roles == want.roles, "message roles / count"
    assert have.system_at == want.system_at, "system prompt placement"
    assert have.system == want.system, "system prompt text"
    assert have.tools == want.tools, "tool names"
    assert have.tool_choice == want.tool_choice, "tool_choice"
    assert have.temperature == want.temperature, "temperature"
    if want.max_tokens is not None:
        assert have.max_tokens == want.max_tokens, "max tokens value"
        accepted = MAX_TOKENS_ALIASES.get(rec.provider, frozenset((want.max_tokens_field,)))
        assert have.max_tokens_field in accepted, (
            f"max tokens sent as {have.max_tokens_field!r}, "
            f"the provider took {want.max_tokens_field!r}")
    if want.stream_usage:
        assert have.stream_usage, "stream_options.include_usage was not sent"
    if any(want.tool_turn_reasoning):
        assert have.tool_turn_reasoning == want.tool_turn_reasoning, (
            "reasoning of assistant turns that called tools was not sent back")


# -- response checks ----------------------------------------------------------------------


def check_response(rec: Recording, resp: ChatResponse) -> None:
    expect = rec.expect
    assert resp.content == expect["content"]
    want_calls = expect["tool_calls"]
    assert [c.name for c in resp.tool_calls] == [c["name"] for c in want_calls]
    assert [c.arguments for c in resp.tool_calls] == [c["arguments"] for c in want_calls]
    for got, want in zip(resp.tool_calls, want_calls, strict=True):
        if want["id"] is not None:
            assert got.id == want["id"]
        assert got.id, "a tool call without an id"

    assert resp.raw_finish_reason == expect["finish_reason"]
    if expect["finish_reason"] is not None:
        assert resp.finish_reason in STANDARD_FINISH
        meaning = FINISH_MEANING[expect["finish_reason"]]
        if want_calls and meaning == "end_turn":
            meaning = "tool_use"
        assert resp.finish_reason == meaning, "normalized finish reason"
    else:
        assert resp.finish_reason in STANDARD_FINISH or resp.finish_reason is None

    check_usage(rec, resp)

    assert resp.thinking == expect.get("reasoning"), "reasoning text"
    blocks = resp.message.blocks
    thinking = [b for b in blocks if isinstance(b, ThinkingBlock)]
    if rec.api == "generate_content":
        signed = sum(1 for b in blocks
                     if isinstance(b, (ThinkingBlock, ToolUseBlock)) and b.signature)
        assert signed == expect.get("thought_signatures", 0), "Gemini thought signatures"
    else:
        signed = sum(1 for b in thinking if b.signature and b.redacted is None)
        assert signed == expect.get("thinking_signatures", 0), "thinking signatures"
    redacted = sum(1 for b in thinking if b.redacted is not None)
    assert redacted == expect.get("redacted_thinking_blocks", 0), "redacted thinking blocks"

    headers = rec.response.get("headers") or {}
    rid = headers.get("x-request-id") or headers.get("request-id")
    if rid is not None:
        assert resp.stats.request_id == rid


def check_usage(rec: Recording, resp: ChatResponse) -> None:
    want = rec.expect["usage"]
    if want is None:
        assert resp.usage is None
        return
    usage = resp.usage
    assert usage is not None, "no usage"
    # normalize_usage counts Anthropic cache reads and writes in the prompt.
    prompt = want["input"] + want.get("cache_read", 0) + want.get("cache_write", 0)
    assert usage.prompt_tokens == prompt, "prompt tokens"
    if rec.api == "generate_content":
        # Gemini: thoughtsTokenCount is counted in completion_tokens and reported as
        # reasoning_tokens; candidatesTokenCount (expect.output) excludes it.
        assert usage.completion_tokens - (usage.reasoning_tokens or 0) == want["output"]
        assert (usage.reasoning_tokens or 0) == want.get("thoughts", 0), "thought tokens"
    else:
        assert usage.completion_tokens == want["output"], "completion tokens"
        assert (usage.reasoning_tokens or 0) == want.get("reasoning", 0), "reasoning tokens"
    cached = want.get("cached_input", want.get("cache_read", 0))
    assert (usage.cached_tokens or 0) == cached, "cached prompt tokens"


def check_events(rec: Recording, events: list[Any], resp: ChatResponse) -> None:
    expect = rec.expect
    started: dict[str, ToolCallStarted] = {}
    ended: list[ToolCallEnded] = []
    for event in events:
        if isinstance(event, ToolCallStarted):
            assert event.tool_call_id not in started, "a tool call started twice"
            started[event.tool_call_id] = event
        elif isinstance(event, ToolCallEnded):
            assert event.tool_call.id in started, "ToolCallEnded before its ToolCallStarted"
            assert event.tool_call.id not in [e.tool_call.id for e in ended], "ended twice"
            ended.append(event)
    text = "".join(e.content for e in events
                   if isinstance(e, PartialContentDelta) and e.candidate_index == 0)
    assert text == expect["content"], "content deltas"
    if expect.get("reasoning") is not None:
        thought = "".join(e.thinking for e in events
                          if isinstance(e, ThinkingDelta) and e.candidate_index == 0)
        assert thought == expect["reasoning"], "thinking deltas"
    ends = [e for e in events if isinstance(e, StreamEnd)]
    if "stream_error" in expect:
        assert isinstance(events[-1], StreamError)
        assert not ends
        return
    assert len(ends) == 1 and events[-1] is ends[0], "exactly one StreamEnd, at the end"
    assert not [e for e in events if isinstance(e, StreamError)]
    assert set(started) == {e.tool_call.id for e in ended}, "a started tool call never ended"
    assert [(e.tool_call.name, e.tool_call.arguments) for e in ended] == [
        (c.name, c.arguments) for c in resp.tool_calls]


def check_chunked(rec: Recording, server: ProviderEmulator) -> None:
    """The stream really went out in small chunks, split inside characters where it can."""
    sizes = rec.chunk_sizes()
    assert server.requests[0].response.frames_written == len(sizes)
    data = rec.body_bytes()
    assert sum(sizes) == len(data) and len(sizes) > 1
    assert max(sizes) <= MAX_CHUNK
    if any(b >= 0x80 for b in data):
        pos, split = 0, False
        for size in sizes[:-1]:
            pos += size
            split = split or 0x80 <= data[pos] < 0xC0
        assert split, "no chunk boundary fell inside a multi-byte character"


# -- error checks -------------------------------------------------------------------------


def _no_key(exc: BaseException) -> None:
    assert API_KEY not in str(exc)
    assert API_KEY not in repr(exc)


def check_http_error(rec: Recording, exc: ProviderError) -> None:
    want = rec.expect["error"]
    body = rec.response["body"]
    assert exc.status == want["http_status"]
    assert exc.code == STANDARD_CODE_BY_STATUS[want["http_status"]]
    assert exc.provider == rec.manifest_id
    assert exc.model == rec.model
    assert exc.provider_type == want.get("type")
    # Google's canonical error is the status string; others use code.
    code = want.get("status", want.get("code"))
    assert exc.provider_code == (str(code) if code is not None else None)
    assert want["message"] in exc.message
    assert exc.body == body
    if isinstance(body, dict) and body.get("request_id"):
        assert exc.request_id == body["request_id"]
    _no_key(exc)


def check_stream_error(rec: Recording, exc: ProviderError, events: list[Any]) -> None:
    want = rec.expect["stream_error"]
    errors = [e for e in events if isinstance(e, StreamError)]
    assert len(errors) == 1, "one StreamError event before the exception"
    status = want.get("status_code", want.get("code"))
    assert isinstance(status, int)
    assert exc.code == errors[0].code == STANDARD_CODE_BY_STATUS[status]
    assert want["message"] in exc.message
    assert want["message"] in errors[0].message
    if isinstance(want.get("type"), str):
        assert exc.provider_type == want["type"]
    assert exc.provider_code == str(want["code"])
    assert exc.provider == rec.manifest_id
    _no_key(exc)
    assert API_KEY not in errors[0].message
