"""Validator and validate_path: strict errors, advisory schema warnings, contracts."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ai_lib_python.errors import ProtocolError
from ai_lib_python.protocol import (
    ProtocolLoader,
    Validator,
    document_ref_resolutions,
    load_contract,
    validate_path,
)

from ._paths import COMPLIANCE, MOCKS, OFFICIAL

PROFILE_BASE = {
    "id": "acme",
    "protocol_version": "2.0",
    "endpoint": {"base_url": "https://api.acme.test"},
    "error_classification": {"by_http_status": {"429": "rate_limited"}},
    "capabilities": {"required": ["text"]},
}


def profile_errors(profile: object) -> list[str]:
    return Validator().validate({**PROFILE_BASE, "capability_profile": profile})


def test_capability_profile_rules() -> None:
    assert profile_errors({"phase": "ios_v1", "inputs": {"modalities": ["text"]}}) == []
    assert profile_errors({"phase": "iospc_v1", "outcomes": {}, "process": {}}) == []
    [err] = profile_errors({"phase": "ios_v1", "inputs": {}, "process": {"mode": "async"}})
    assert err.startswith("capability_profile.process: must NOT have additional properties")
    [err] = profile_errors({"phase": "ios_v1", "future_reserved": ["process"]})
    assert "must match at least one schema in anyOf" in err
    [err] = profile_errors("ios_v1")
    assert "capability_profile must be object" in err
    [err] = profile_errors({"phase": "iospc_v1", "inputs": {}})
    assert "iospc_v1 requires process or contract" in err
    [err] = profile_errors({"phase": "ios_v2", "inputs": {}})
    assert "ios_v1, iospc_v1" in err
    [err] = profile_errors({"inputs": {}})
    assert "phase" in err
    [err] = profile_errors({"phase": "ios_v1", "inputs": {}, "extras": 1})
    assert err.startswith("capability_profile.extras: must NOT have additional properties")


def test_schema_findings_are_warnings_not_errors() -> None:
    report = Validator().check(
        {**PROFILE_BASE, "capabilities": {"required": ["text"], "tool_calling": {}}},
    )
    assert report.ok and report.errors == ()
    assert any("capabilities" in w for w in report.warnings)


def test_manifest_warnings_are_computed_lazily(tmp_path: Path) -> None:
    manifest = ProtocolLoader(env={}).load_file(MOCKS / "mock-openai.yaml")
    assert manifest._schema_warnings is None
    warnings = manifest.warnings
    assert any(w.startswith("schema: ") for w in warnings)
    assert manifest.warnings == warnings


def test_an_official_v1_manifest_passes_the_v1_schema() -> None:
    manifest = ProtocolLoader(env={}).load_file(OFFICIAL / "v1/providers/openai.yaml")
    assert manifest.warnings == []


def test_validate_returns_errors_for_each_kind() -> None:
    v = Validator()
    assert v.validate({"name": "x"}) != []
    assert v.validate({"protocol_version": "1.1", "models": {}}, "model_registry") == []
    assert v.validate({"protocol_version": "1.1", "models": {"m": {}}}, "model_registry")
    assert v.validate({"document": {"format": "anthropic_document"}},
                      "content_block_mapping") == []
    assert v.validate({"document": {"ref_resolution": "maybe"}}, "content_block_mapping")


def test_validate_path_on_a_file_and_a_directory(tmp_path: Path) -> None:
    report = validate_path(MOCKS / "mock-invalid.yaml")
    assert not report.ok and len(report.errors) == 3
    assert report.errors[0].startswith("id: required field is missing (line ")
    ok = validate_path(OFFICIAL / "v1/providers/openai.yaml")
    assert ok.ok and ok.kind == "provider"
    tree = validate_path(MOCKS)
    assert tree.kind == "directory" and len(tree.files) == 23
    bad = sorted(Path(f.source).name for f in tree.files if not f.ok)
    assert bad == [
        "mock-google-v2-ios-invalid-contract.yaml",
        "mock-google-v2-ios-invalid-empty-ios.yaml",
        "mock-google-v2-ios-invalid-nonobject.yaml",
        "mock-google-v2-ios-invalid-process.yaml",
        "mock-google-v2-iospc-invalid-missing-process-contract.yaml",
        "mock-invalid.yaml",
    ]
    assert not tree.ok


def test_validate_path_reports_registries_contracts_and_syntax(tmp_path: Path) -> None:
    assert validate_path(OFFICIAL / "v1/models/gpt.yaml").kind == "model_registry"
    contract = validate_path(COMPLIANCE / "v2/contracts/anthropic-messages.contract.yaml")
    assert contract.ok and contract.kind == "contract"
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [\n", encoding="utf-8")
    report = validate_path(broken)
    assert not report.ok and "broken.yaml:2" in report.errors[0]
    missing = validate_path(tmp_path / "absent.yaml")
    assert not missing.ok and "not found" in missing.errors[0]


def test_validate_path_compiles_expressions(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(textwrap.dedent("""
        id: acme
        protocol_version: "1.5"
        endpoint: {base_url: "https://api.acme.test"}
        streaming:
          frame_selector: "exists($.choices) ||"
          event_map:
            - match: "exists($.choices)"
              emit: PartialContentDelta
              fields: {content: "$.choices[0].delta.content"}
    """), encoding="utf-8")
    ProtocolLoader(env={}).load_file(path)  # loading does not compile expressions
    report = validate_path(path)
    assert not report.ok
    assert report.errors[0].startswith("streaming.frame_selector: ")
    assert "(line 6)" in report.errors[0]


def test_contracts() -> None:
    contract = load_contract(COMPLIANCE / "v2/contracts/gemini-generate.contract.yaml")
    assert contract.api_style == "gemini_generate"
    assert contract.document_mapping["format"] == "gemini_inline_data"
    assert document_ref_resolutions() == ("error_before_encode", "resolve_at_runtime")


def test_an_invalid_contract_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x.contract.yaml"
    path.write_text("contract_version: '1.0'\nprovider_id: acme\napi_style: telepathy\n",
                    encoding="utf-8")
    with pytest.raises(ProtocolError) as info:
        load_contract(path)
    assert "invalid provider contract" in info.value.message
    assert any("api_style" in e for e in info.value.errors)
