"""The AI-Protocol compliance suite, run against the library's real functions.

Every document of every case file under ``data/tests/compliance/cases`` is one test
(id ``<folder>/<file>::<case id>``: case ids repeat across files). Each ``input.type``
is executed by the product function that does that job at run time; nothing here
re-implements protocol behaviour. The vendored data keeps the official repository's
layout so the cases' relative paths (``../../../../v2/...``) resolve.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
import yaml

from ai_lib_python.errors import AiLibError, ConfigurationError, ProtocolError, provider_error
from ai_lib_python.protocol import (
    ProtocolLoader,
    ProtocolManifest,
    Validator,
    capability_tiers,
    compile_path,
    derive_feature_flags,
    document_ref_resolutions,
    load_contract,
)
from ai_lib_python.resilience import RetryPolicy, standard_code
from ai_lib_python.transport._credentials import attach_auth, resolve_credential
from ai_lib_python.types import DocumentBlock, Message, TextBlock, ToolCall, ToolDefinition
from ai_lib_python.wire._text_tools import (
    build_tool_prompt,
    merge_tool_calls,
    parse_text_tool_calls,
)

DATA = Path(__file__).parent / "data"
ROOT = DATA / "tests" / "compliance"
CASES_DIR = ROOT / "cases"
EXPECTED_CASES = 117
EXPECTED_TYPES = 21
REDACTED = "<redacted>"


@dataclass(frozen=True)
class Case:
    file: Path
    doc: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.file.parent.name}/{self.file.name}::{self.doc['id']}"

    @property
    def input(self) -> dict[str, Any]:
        return dict(self.doc["input"])

    @property
    def expected(self) -> dict[str, Any]:
        return dict(self.doc["expected"])

    @property
    def setup(self) -> dict[str, Any]:
        return dict(self.doc.get("setup") or {})

    def path(self, relative: str) -> Path:
        """Resolve a path as the cases write them: ``fixtures/...`` from the compliance
        root, ``../...`` from the case file's folder, anything else from the repo root."""
        if relative.startswith("fixtures/"):
            return ROOT / relative
        if relative.startswith("../"):
            return (self.file.parent / relative).resolve()
        return DATA / relative


def _collect() -> list[Case]:
    cases: list[Case] = []
    for file in sorted(CASES_DIR.rglob("*.yaml")):
        for doc in yaml.safe_load_all(file.read_text(encoding="utf-8")):
            if doc:
                cases.append(Case(file, doc))
    return cases


CASES = _collect()

# Cases whose data cannot pass as written: (reason). Strict, so a fix is noticed.
XFAIL: dict[str, str] = {}


def _params() -> list[Any]:
    out = []
    for case in CASES:
        reason = XFAIL.get(case.id)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _loader() -> ProtocolLoader:
    return ProtocolLoader(env={})


@cache
def _manifest_at(path: str) -> ProtocolManifest:
    return _loader().load_file(path)


def _setup_manifest(case: Case) -> ProtocolManifest:
    rel = case.setup.get("manifest_path")
    assert rel, f"{case.id}: case has no setup.manifest_path"
    return _manifest_at(str(case.path(rel)))


def assert_subset(expected: Any, actual: Any, where: str = "") -> None:
    """``expected`` is contained in ``actual``: mapping keys recursively, lists item by item."""
    if isinstance(expected, Mapping):
        assert isinstance(actual, Mapping), f"{where}: expected a mapping, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key}: missing in {actual!r}"
            assert_subset(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_subset(e, a, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def assert_range(value: float, bounds: Mapping[str, Any], what: str) -> None:
    if "min" in bounds:
        assert value >= bounds["min"], f"{what}={value} < {bounds['min']}"
    if "max" in bounds:
        assert value <= bounds["max"], f"{what}={value} > {bounds['max']}"


def _chat_request(messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> Any:
    from ai_lib_python.types import ChatRequest

    msgs = tuple(
        Message(m["role"], m["content"], metadata=m.get("metadata")) for m in messages
    )
    return ChatRequest(model="compliance-model", messages=msgs, **dict(params))


# ---------------------------------------------------------------------------
# One runner per input.type
# ---------------------------------------------------------------------------


def run_protocol_loading(case: Case) -> None:
    inp, exp = case.input, case.expected
    if "contract_fragment" in inp:
        errors = Validator().validate(inp["contract_fragment"], "content_block_mapping")
        assert (not errors) == exp["valid"], errors
        if "ref_resolution_allowed" in exp:
            assert list(document_ref_resolutions()) == exp["ref_resolution_allowed"]
        return
    if inp.get("validate_contract_schema"):
        pointer = yaml.safe_load(case.path(inp["manifest_path"]).read_text(encoding="utf-8"))
        assert pointer["contract_path"] == inp["contract_path"]
        contract = load_contract(case.path(inp["contract_path"]))
        assert exp["valid"] is True
        assert_subset(exp["document_mapping"], contract.document_mapping, "document_mapping")
        assert contract.api_style == pointer["api_style"]
        return
    path = case.path(inp["manifest_path"])
    errors: list[str] = []
    manifest: ProtocolManifest | None = None
    try:
        manifest = _loader().load_file(path)
    except ProtocolError as exc:
        errors = exc.errors or [exc.message]
    assert (manifest is not None) == exp["valid"], errors
    want = exp.get("errors")
    if isinstance(want, list):
        for fragment in want:
            assert any(fragment in e for e in errors), f"{fragment!r} not in {errors}"
        if not want:
            assert errors == []
    elif isinstance(want, Mapping) and want.get("assert") == "length":
        assert len(errors) >= want.get("min", 0), errors
    if manifest is not None:
        if "provider_id" in exp:
            assert manifest.id == exp["provider_id"]
        if "protocol_version" in exp:
            assert manifest.protocol_version == exp["protocol_version"]
        if exp.get("runtime_deserialize"):
            assert manifest.model_extra, "unknown top-level fields should be kept"


def run_error_classification(case: Case) -> None:
    inp, exp = case.input, case.expected
    manifest = _setup_manifest(case)
    err = provider_error(
        status=inp["http_status"],
        body=inp["response_body"],
        provider=manifest.id,
        by_error_code=manifest.error_by_code,
        by_http_status=manifest.error_by_status,
    )
    assert err.code == exp["error_code"]
    name = exp.get("error_name", exp.get("error_type"))
    if name is not None:
        assert err.standard.name == name
    if "retryable" in exp:
        assert err.retryable is exp["retryable"]
    if "fallbackable" in exp:
        assert err.fallbackable is exp["fallbackable"]


def run_message_building(case: Case) -> None:
    from ai_lib_python.wire import encode_request

    inp, exp = case.input, case.expected
    manifest = _setup_manifest(case)
    spec = encode_request(manifest, _chat_request(inp["messages"], inp.get("parameters") or {}))
    assert_subset(exp["normalized_body"], spec.body, "body")
    assert len(spec.body["messages"]) == exp["message_count"]


def run_parameter_mapping(case: Case) -> None:
    from ai_lib_python.wire import map_parameters

    manifest = _setup_manifest(case)
    mapped = map_parameters(manifest, case.input["standard_params"])
    assert mapped == case.expected["provider_params"]


def run_request_building(case: Case) -> None:
    from ai_lib_python.wire import encode_request

    inp, exp = case.input, case.expected
    manifest = _setup_manifest(case)
    spec = encode_request(manifest, _chat_request(inp["messages"], inp.get("parameters") or {}))
    assert exp.get("valid", True) is True
    assert_subset(exp["request_contains"], spec.body, "body")


def run_response_parsing(case: Case) -> None:
    from ai_lib_python.wire import decode_response

    manifest = _setup_manifest(case)
    response = decode_response(manifest, case.input["response_body"])
    assert response.usage is not None
    assert_subset(case.expected["usage"], vars_of(response.usage), "usage")


def vars_of(obj: Any) -> dict[str, Any]:
    slots = getattr(type(obj), "__slots__", ())
    return {name: getattr(obj, name) for name in slots} if slots else dict(vars(obj))


def run_stream_decode(case: Case) -> None:
    inp = case.input
    if "raw_chunks" in inp:
        _decode_raw_chunks(case)
    else:
        _decode_events(case)


def _decode_raw_chunks(case: Case) -> None:
    from ai_lib_python.pipeline import DONE, SseDecoder

    inp, exp = case.input, case.expected
    manifest = _setup_manifest(case)
    config = inp.get("decoder_config") or {}
    assert config.get("format", "sse") == "sse"
    manifest_decoder = manifest.streaming.decoder if manifest.streaming else None
    done_signal = config.get("done_signal") or (
        manifest_decoder.done_signal if manifest_decoder else None
    )
    decoder = SseDecoder(done_signal=done_signal)
    items: list[Any] = []
    for chunk in inp["raw_chunks"]:
        items.extend(decoder.feed(chunk.encode("utf-8")))
    items.extend(decoder.close())
    frames = [f for f in items if f is not DONE]
    done = any(f is DONE for f in items)
    for pattern in exp.get("events", []):
        assert pattern["type"] == "frame"
        matching = [f for f in frames if isinstance(f, dict)]
        if pattern.get("has_content"):
            content = compile_path("$.choices[0].delta.content")
            matching = [f for f in matching if content(f)]
        assert matching, f"no frame matches {pattern}"
    if "frame_count" in exp:
        assert_range(len(frames), exp["frame_count"], "frame_count")
    if "done_received" in exp:
        assert done is exp["done_received"]
    if "completed" in exp:
        assert done is exp["completed"]


def _decode_events(case: Case) -> None:
    from ai_lib_python.pipeline import StreamPlan

    exp = case.expected
    manifest = _setup_manifest(case)
    state = StreamPlan.for_manifest(manifest).new_stream()
    for event in case.input["events"]:
        state.feed(event.encode("utf-8") + b"\n\n")
    state.finish()
    response = state.response()
    assert exp.get("valid", True) is True
    if "accumulated_tool_calls" in exp:
        calls = [
            {"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": c.arguments_json}}
            for c in response.tool_calls
        ]
        assert calls == exp["accumulated_tool_calls"]
    if "usage" in exp:
        assert response.usage is not None
        assert_subset(exp["usage"], vars_of(response.usage), "usage")
    if "content_blocks" in exp:
        blocks = response.message.blocks
        assert len(blocks) == len(exp["content_blocks"]), blocks
        for want, got in zip(exp["content_blocks"], blocks, strict=True):
            assert got.type == want["type"]
            text = got.thinking if got.type == "thinking" else getattr(got, "text", None)
            if "content" in want:
                assert text == want["content"]
            if "content_contains" in want:
                assert want["content_contains"] in (text or "")
    if "finish_reason" in exp:
        assert response.candidates[0].raw_finish_reason == exp["finish_reason"]


def _event_plan(rules: Sequence[Mapping[str, Any]], provider: str) -> Any:
    from ai_lib_python.pipeline import StreamPlan, StreamSpec, rule_specs

    return StreamPlan(StreamSpec(provider=provider, rules=rule_specs(rules)))


def _matches(want: Mapping[str, Any], got: Any, history: Sequence[Any]) -> bool:
    """Compare an expected protocol event (the event_map's emit + extracted fields) with
    a typed library event."""
    if got.type != want["type"]:
        return False
    for key, value in want.items():
        if key == "type":
            continue
        if key == "tool_calls" and got.type == "PartialToolCall":
            delta = next((d for d in value if d.get("index") == got.index), None)
            if delta is None or delta["function"]["arguments"] != got.arguments:
                return False
            if delta.get("id") not in (None, got.tool_call_id):
                return False
            name = delta["function"].get("name")
            started = [e for e in history if e.type == "ToolCallStarted" and e.index == got.index]
            if name is not None and not any(e.tool_name == name for e in started):
                return False
        elif key == "partial_json":
            if got.arguments != value:
                return False
        elif getattr(got, key, object()) != value:
            return False
    return True


def run_event_mapping(case: Case) -> None:
    inp, exp = case.input, case.expected
    plan = _event_plan(inp["event_map"], inp.get("provider", "compliance"))
    state = plan.new_stream()
    events = state.feed_frames(inp["frames"])
    emitted = {rule["emit"] for rule in inp["event_map"]}
    # The library also reports what the protocol derives from those rules (a tool
    # call's start, a candidate's end); the case lists the rules' own events.
    primary = [e for e in events if e.type in emitted]
    assert len(primary) == len(exp["events"]), events
    for i, (want, got) in enumerate(zip(exp["events"], primary, strict=True)):
        assert _matches(want, got, events[: events.index(got)]), f"event {i}: {got!r} != {want}"
    if "event_count" in exp:
        assert len(primary) == exp["event_count"]


def run_tool_accumulation(case: Case) -> None:
    from ai_lib_python.pipeline import StreamPlan

    inp, exp = case.input, case.expected
    manifest = _setup_manifest(case)
    acc = inp["accumulator_config"]
    assert manifest.streaming is not None and manifest.streaming.accumulator is not None
    assert acc["stateful_tool_parsing"] is manifest.streaming.accumulator.stateful_tool_parsing
    frames = [{"choices": [{"index": 0, "delta": {"tool_calls": [c]}}]} for c in
              inp["partial_chunks"]]
    state = StreamPlan.for_manifest(manifest).new_stream()
    state.feed_frames(frames)
    state.finish(strict=False)
    calls = state.response().tool_calls
    assembled = [
        {"index": i, "id": c.id, "type": "function",
         "function": {"name": c.name, "arguments": c.arguments_json}}
        for i, c in enumerate(calls)
    ]
    assert assembled == exp["assembled_tool_calls"]
    if exp.get("complete"):
        for call in calls:
            assert json.loads(call.arguments_json) == call.arguments


def run_retry_decision(case: Case) -> None:
    inp, exp = case.input, case.expected
    raw = inp["retry_policy"]
    policy = RetryPolicy(
        max_retries=raw["max_retries"],
        min_delay_ms=raw.get("min_delay_ms", 1000),
        max_delay_ms=raw.get("max_delay_ms", 30000),
        retry_on_http_status=tuple(raw.get("retry_on_http_status", ())),
        retry_on_error_code=tuple(raw.get("retry_on_error_code", ())),
    )
    error = inp["error"]
    row = standard_code(error["error_code"])
    assert row.name == error["error_name"] and row.retryable is error["retryable"]
    attempt = inp["attempt"]
    assert policy.should_retry(error["error_code"], attempt) is exp["should_retry"]
    assert policy.should_retry(error["error_name"], attempt) is exp["should_retry"]
    if "delay_ms" in exp:
        rng = random.Random(attempt)
        for rand in (lambda: 0.0, lambda: 0.999999, rng.random, rng.random):
            delay_ms = policy.delay_s(attempt, rand=rand) * 1000
            assert_range(delay_ms, exp["delay_ms"], "delay_ms")


def _credential(case: Case) -> Any:
    inp = case.input
    manifest = _setup_manifest(case)
    assert manifest.id == inp["provider"]
    sandboxed = str(inp.get("runtime_target", "")).startswith("wasm")
    return manifest, resolve_credential(
        manifest,
        explicit=inp.get("explicit_credential"),
        env=dict(case.setup.get("env") or {}),
        env_allowed=not sandboxed,
        keyring_allowed=not sandboxed,
        explicit_source="host_supplied" if sandboxed else "explicit",
        keyring_get=lambda service, user: None,  # the test machine's keyring is not data
    )


def _assert_secret_free(texts: Sequence[str], forbidden: Sequence[str]) -> None:
    for text in texts:
        for secret in forbidden:
            assert secret not in text, f"{secret!r} leaked into {text!r}"


def run_credential_resolution(case: Case) -> None:
    exp = case.expected
    _, res = _credential(case)
    env = dict(case.setup.get("env") or {})
    assert res.status == exp["status"]
    assert res.source_kind == exp["source_kind"]
    assert res.source_name == exp["source_name"]
    assert list(res.required) == exp["required"]
    if "conventional_fallbacks" in exp:
        assert list(res.conventional_fallbacks) == exp["conventional_fallbacks"]
    if exp.get("value_redacted"):
        assert res.secret is not None and res.secret not in repr(res)
    _assert_secret_free([repr(res), res.diagnostic], exp.get("must_not_contain", []))
    for text in exp.get("diagnostic_contains", []):
        assert text in res.diagnostic
    _assert_secret_free([res.diagnostic], exp.get("diagnostic_must_not_contain", []))
    for text in exp.get("diagnostic_should_mention", []):
        assert text in res.diagnostic
    for name in exp.get("shadowed_envs_must_not_resolve", []):
        assert res.source_name != name and res.secret != env.get(name)
    if "implicit_env_allowed" in exp:
        assert res.implicit_env_allowed is exp["implicit_env_allowed"]
    if "implicit_keyring_allowed" in exp:
        assert res.implicit_keyring_allowed is exp["implicit_keyring_allowed"]


def run_auth_attachment(case: Case) -> None:
    exp = case.expected
    manifest, res = _credential(case)
    assert res.secret is not None
    headers, query = attach_auth(manifest, res.secret)

    def redact(values: Mapping[str, str]) -> dict[str, str]:
        return {k: REDACTED if res.secret in v else v for k, v in values.items()}

    shown_headers, shown_query = redact(headers), redact(query)
    assert shown_headers == exp["headers"]
    assert shown_query == exp["query_params"]
    assert res.source_kind == exp["source_kind"]
    assert res.source_name == exp["source_name"]
    _assert_secret_free([repr(shown_headers), repr(shown_query), repr(res)],
                        exp.get("must_not_contain", []))


def run_capability_guard(case: Case) -> None:
    manifest = ProtocolLoader.from_dict(yaml.safe_load(case.input["manifest"]), source=case.id)
    with pytest.raises(ConfigurationError) as info:
        manifest.require_operation(case.input["method"])
    assert info.value.code == case.expected["error_code"]


def run_advanced_endpoint_mapping(case: Case) -> None:
    inp, exp = case.input, case.expected
    manifest = ProtocolLoader.from_dict(yaml.safe_load(inp["manifest"]), source=case.id)
    endpoint = manifest.endpoint(inp["operation"])
    assert endpoint is not None, f"{inp['operation']} not mapped; fallback {inp['fallback']}"
    assert endpoint.path == exp["path"] and endpoint.path != inp["fallback"]
    assert endpoint.method == exp["method"]


def run_fallback_decision(case: Case) -> None:
    assert standard_code(case.input["error_code"]).fallbackable is (
        case.expected["should_fallback"]
    )


def run_provider_mock_behavior(case: Case) -> None:
    inp, exp = case.input, case.expected
    for body_key, assert_key in (("request_body", "request_assert"),
                                 ("response_body", "response_assert")):
        body = inp[body_key]
        for path, value in exp[assert_key].items():
            assert compile_path(path)(body) == value, f"{assert_key} {path}"


def run_capability_check(case: Case) -> None:
    inp, exp = case.input, case.expected
    manifest = _setup_manifest(case)
    assert exp.get("valid", True) is True
    if "capabilities" in inp:
        required, optional = capability_tiers(inp["capabilities"])
        present = exp["capabilities_present"]
        assert list(required) == present["required"]
        for name in present.get("optional_contains", []):
            assert name in optional
        assert_subset(exp.get("feature_flags", {}), derive_feature_flags(inp["capabilities"]))
    if "required_capability" in inp:
        name = inp["required_capability"]
        assert manifest.has_capability(name) is exp["capability_declared"]
        manifest.require_capability(name)
        assert manifest.mcp_integration_method == exp["mcp_integration_method"]


def run_content_block_encode(case: Case) -> None:
    from ai_lib_python.wire import encode_content_blocks

    inp, exp = case.input, case.expected
    blocks: list[Any] = []
    for raw in inp["blocks"]:
        if raw["block_type"] == "text":
            blocks.append(TextBlock(raw["text"]))
        elif raw["source_type"] == "base64":
            blocks.append(DocumentBlock(data=raw["data"], media_type=raw["mime_type"]))
        else:
            blocks.append(DocumentBlock(url=raw["data"], media_type=raw["mime_type"]))
    if inp.get("expect_error"):
        assert exp["valid"] is False
        with pytest.raises(AiLibError):
            encode_content_blocks(inp["api_style"], blocks)
        return
    assert encode_content_blocks(inp["api_style"], blocks) == exp["encoded"]


def _expect_calls(result: Any, exp: Mapping[str, Any]) -> None:
    assert result.remaining_text == exp["remaining_text"]
    got = [{"name": c.name, "arguments": c.arguments} for c in result.tool_calls]
    assert got == exp["tool_calls"]


def run_text_tool_parse(case: Case) -> None:
    inp = case.input
    lenient = bool((inp.get("config") or {}).get("lenient_parsing", True))
    _expect_calls(parse_text_tool_calls(inp["response_text"], lenient=lenient), case.expected)


def run_text_tool_hybrid(case: Case) -> None:
    inp = case.input
    lenient = bool((inp.get("config") or {}).get("lenient_parsing", True))
    native = [ToolCall(c["id"], c["name"], dict(c["arguments"]))
              for c in inp.get("native_tool_calls") or []]
    _expect_calls(merge_tool_calls(inp["content"], native, lenient=lenient), case.expected)


def run_text_tool_prompt(case: Case) -> None:
    inp = case.input
    config = inp.get("config") or {}
    tools = [ToolDefinition(t["name"], t.get("description", "")) for t in inp["tools"]]
    prompt = build_tool_prompt(tools, level=config.get("prompt_level", "L2"),
                               locale=config.get("locale", "en"))
    for text in case.expected["prompt_contains"]:
        assert text in prompt


RUNNERS: dict[str, Callable[[Case], None]] = {
    "protocol_loading": run_protocol_loading,
    "error_classification": run_error_classification,
    "message_building": run_message_building,
    "stream_decode": run_stream_decode,
    "event_mapping": run_event_mapping,
    "tool_accumulation": run_tool_accumulation,
    "parameter_mapping": run_parameter_mapping,
    "retry_decision": run_retry_decision,
    "credential_resolution": run_credential_resolution,
    "auth_attachment": run_auth_attachment,
    "text_tool_parse": run_text_tool_parse,
    "text_tool_hybrid": run_text_tool_hybrid,
    "text_tool_prompt": run_text_tool_prompt,
    "content_block_encode": run_content_block_encode,
    "capability_check": run_capability_check,
    "response_parsing": run_response_parsing,
    "request_building": run_request_building,
    "capability_guard": run_capability_guard,
    "advanced_endpoint_mapping": run_advanced_endpoint_mapping,
    "fallback_decision": run_fallback_decision,
    "provider_mock_behavior": run_provider_mock_behavior,
}


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


def test_every_case_is_collected() -> None:
    assert len(CASES) == EXPECTED_CASES
    assert len({c.id for c in CASES}) == EXPECTED_CASES
    types = {c.input["type"] for c in CASES}
    assert len(types) == EXPECTED_TYPES
    assert types == set(RUNNERS)


def test_cases_match_the_case_schema() -> None:
    schema = json.loads((ROOT / "schema.json").read_text(encoding="utf-8"))
    validate = fastjsonschema.compile(schema)
    for case in CASES:
        validate(case.doc)


@pytest.mark.parametrize("case", _params())
def test_compliance(case: Case) -> None:
    RUNNERS[case.input["type"]](case)


def _mutated(case_id: str, path: Sequence[str | int], value: Any) -> Case:
    case = next(c for c in CASES if c.id == case_id)
    doc = json.loads(json.dumps(case.doc))
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return Case(case.file, doc)


@pytest.mark.parametrize(
    ("case_id", "path", "value"),
    [
        ("01-protocol-loading/load-valid-provider.yaml::load-003", ("expected", "valid"), True),
        ("01-protocol-loading/load-v2-capability-profile-ios.yaml::load-013",
         ("expected", "errors"), ["iospc_v1 requires process or contract"]),
        ("02-error-classification/provider-error-codes.yaml::err-010",
         ("expected", "error_code"), "E1001"),
        ("03-message-building/basic-messages.yaml::msg-004", ("expected", "message_count"), 2),
        ("04-streaming/event-mapping.yaml::str-004",
         ("expected", "events", 0, "tool_calls", 0, "function", "name"), "get_time"),
        ("04-streaming/tool-accumulation.yaml::str-008",
         ("expected", "assembled_tool_calls", 0, "id"), "call_other"),
        ("05-request-building/parameter-mapping.yaml::req-003",
         ("expected", "provider_params", "temperature"), 0.5),
        ("06-resilience/retry-policy.yaml::res-003", ("expected", "should_retry"), True),
        ("07-advanced-capabilities/capability-and-endpoint.yaml::adv-006",
         ("expected", "method"), "GET"),
        ("07-advanced-capabilities/capability-and-endpoint.yaml::adv-014",
         ("expected", "response_assert", "results.0.ok"), False),
        ("09-credential-resolution/credential-chain.yaml::cred-003",
         ("expected", "source_kind"), "manifest_env"),
        ("09-credential-resolution/credential-chain.yaml::cred-007",
         ("expected", "query_params"), {"key": "<redacted>"}),
        ("10-text-tool-call/text-tool-parse.yaml::ttc-007",
         ("expected", "tool_calls", 0, "arguments", "command"), "ls"),
        ("11-content-block-encoding/document-encode.yaml::cbe-011",
         ("expected", "encoded", 1, "inlineData", "mimeType"), "text/plain"),
    ],
)
def test_the_runner_rejects_a_wrong_expectation(
    case_id: str, path: Sequence[str | int], value: Any
) -> None:
    case = _mutated(case_id, path, value)
    with pytest.raises(AssertionError):
        RUNNERS[case.input["type"]](case)
