"""ProtocolManifest: normalized accessors over v1, v1.5 (mock) and v2 manifests, and the
errors a bad manifest produces."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ai_lib_python.errors import ConfigurationError, ProtocolError, provider_error
from ai_lib_python.protocol import (
    AuthSpec,
    EndpointSpec,
    ProtocolLoader,
    ProtocolManifest,
    capability_for_operation,
    capability_tiers,
    derive_feature_flags,
)

from ._paths import COMPLIANCE, MOCKS, OFFICIAL

BASE: dict[str, Any] = {
    "id": "acme",
    "protocol_version": "1.5",
    "endpoint": {"base_url": "https://api.acme.test/v1"},
}


def load(path: Path) -> ProtocolManifest:
    return ProtocolLoader(env={}).load_file(path)


def make(**fields: Any) -> ProtocolManifest:
    return ProtocolLoader.from_dict({**BASE, **fields}, source="test")


def write(tmp_path: Path, text: str, name: str = "acme.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


# -- v1 --------------------------------------------------------------------------


def test_v1_openai_accessors() -> None:
    m = load(OFFICIAL / "v1/providers/openai.yaml")
    assert (m.id, m.protocol_version, m.name) == ("openai", "1.5", "OpenAI")
    assert m.base_url == "https://api.openai.com/v1"
    assert m.timeout_ms == 10000
    assert m.payload_format == "openai_style"
    assert m.endpoint("chat") == EndpointSpec("/chat/completions", "POST")
    assert m.endpoint("realtime_ws") == EndpointSpec("wss://api.openai.com/v1/realtime")
    assert m.endpoint("nope") is None
    assert m.service("list_models") == EndpointSpec("/models", "GET")
    assert m.auth == AuthSpec("bearer", "Authorization", "Bearer", None, ("OPENAI_API_KEY",))
    assert m.parameter_map["stop_sequences"] == "stop"
    assert m.termination_map == {
        "stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
        "content_filter": "refusal",
    }
    assert m.error_by_status["429"] == "rate_limited"
    assert m.retry is not None and m.retry.retry_on_http_status == (429, 500, 502, 503)
    assert m.capabilities == frozenset(
        {"streaming", "tools", "vision", "agentic", "parallel_tools", "reasoning"}
    )
    assert m.rate_limit_headers["requests_limit"] == "x-ratelimit-limit-requests"
    assert m.multi_candidate is not None and m.multi_candidate.param_name == "n"
    assert m.availability is not None and m.availability.check is not None
    assert m.availability.check.expected_status == (200, 401)


def test_v1_streaming_block_normalized() -> None:
    s = load(OFFICIAL / "v1/providers/anthropic.yaml").streaming
    assert s is not None and s.decoder is not None
    assert (s.decoder.format, s.decoder.strategy) == ("anthropic_sse", "anthropic_event_stream")
    assert s.accumulator is not None and s.accumulator.key_path == "$.delta.partial_json"
    assert s.stop_condition == "$.type == 'message_stop'"
    assert [r.emit for r in s.event_map][:3] == [
        "PartialContentDelta", "ThinkingDelta", "ToolCallStarted",
    ]
    assert s.event_map[0].fields == {"content": "$.delta.text"}


def test_v1_api_key_auth_is_a_custom_header() -> None:
    azure = load(OFFICIAL / "v1/providers/azure.yaml")
    assert azure.auth == AuthSpec("custom_header", "api-key", "", None, ("AZURE_OPENAI_KEY",))
    gemini = load(OFFICIAL / "v1/providers/gemini.yaml")
    assert (gemini.auth.type, gemini.auth.param_name) == ("query_param", "key")
    anthropic = load(OFFICIAL / "v1/providers/anthropic.yaml")
    assert anthropic.auth.extra_headers == {"anthropic-version": "2023-06-01"}


def test_misplaced_payload_format_under_auth_is_used() -> None:
    assert load(OFFICIAL / "v1/providers/jina.yaml").payload_format == "jina_api"
    assert load(OFFICIAL / "v1/providers/xai.yaml").payload_format == "openai_style"


def test_openai_compatible_manifest_without_paths_gets_the_standard_chat_path() -> None:
    m = load(OFFICIAL / "v1/providers/together.yaml")
    assert m.endpoint("chat") == EndpointSpec("/chat/completions")


def test_legacy_top_level_base_url() -> None:
    m = load(OFFICIAL / "v1/providers/deepseek.yaml")
    assert m.base_url == "https://api.deepseek.com/v1"


def test_gemini_error_status_strings_join_the_code_map() -> None:
    m = load(OFFICIAL / "v1/providers/gemini.yaml")
    assert m.error_by_code["RESOURCE_EXHAUSTED"] == "rate_limited"
    assert m.retry is not None and "UNAVAILABLE" in m.retry.retry_on_error_status


# -- v1.5 mocks and v2 --------------------------------------------------------------


def test_mock_endpoint_chat_and_endpoint_auth() -> None:
    m = load(MOCKS / "mock-anthropic.yaml")
    assert m.endpoint("chat") == EndpointSpec("/v1/messages")
    assert m.auth == AuthSpec("custom_header", "x-api-key", "", None, ())
    assert m.payload_format == "anthropic_style"
    assert m.capabilities >= {"chat", "text", "streaming", "reasoning"}
    assert m.parameter_defaults == {"temperature": 1.0}
    assert m.parameter_ranges["temperature"] == (0.0, 1.0)
    assert m.parameter_ranges["max_tokens"] == (1, 8192)
    rule = m.streaming.event_map[0] if m.streaming else None
    assert rule is not None and rule.fields == {"content": "$.delta.text"}


def test_v2_gemini_aliases_stream_path_and_alias_parameters() -> None:
    m = load(COMPLIANCE / "v2/providers/gemini.yaml")
    assert m.aliases == ["google"]
    chat = m.endpoint("chat")
    assert chat == EndpointSpec(
        "/models/{model}:generateContent", "POST", "/models/{model}:streamGenerateContent"
    )
    assert m.parameter_map["max_tokens"] == "maxOutputTokens"
    assert m.parameter_map["temperature"] == "temperature"
    assert m.parameter_ranges["max_tokens"] == (1, 65536)
    assert m.payload_format == "gemini_style"
    assert m.feature_flags["streaming_usage"] is False
    assert m.feature_flags["extended_thinking"] is True
    assert m.models["gemini-2.5-pro"].context_window == 2097152
    assert m.capability_tiers()[0] == ("text", "streaming", "tools")


def test_v2_anthropic_custom_header_and_required_parameter() -> None:
    m = load(COMPLIANCE / "v2/providers/anthropic.yaml")
    assert m.auth == AuthSpec(
        "custom_header", "x-api-key", "", None, ("ANTHROPIC_API_KEY",),
        {"anthropic-version": "2023-06-01"},
    )
    assert "max_tokens" in m.parameter_required


def test_provider_code_spelling_of_an_error_class_is_normalized() -> None:
    m = load(COMPLIANCE / "v2/providers/deepseek.yaml")
    assert m.error_by_status["402"] == "quota_exhausted"
    err = provider_error(status=402, body={"error": {"message": "x"}},
                         by_http_status=m.error_by_status)
    assert err.code == "E2002"


def test_endpoint_auth_wins_over_top_level_auth() -> None:
    m = load(MOCKS / "mock-credential-dual-auth.yaml")
    assert m.auth.token_envs == ("DUALAUTH_API_TOKEN",)
    assert m.auth.shadowed_envs == ("DUALAUTH_LEGACY_KEY",)
    assert any("shadowed" in w for w in m.warnings)


def test_v1_parameter_mappings_with_dotted_paths() -> None:
    m = load(OFFICIAL / "v1/providers/gemini.yaml")
    assert m.parameter_map["temperature"] == "generationConfig.temperature"


def test_core_layout_is_read() -> None:
    m = ProtocolLoader.from_dict({
        "id": "guarded", "protocol_version": "2.0",
        "core": {"endpoint": {"base_url": "https://x.test",
                              "endpoints": {"video_get": {"path": "/v/{id}", "method": "get"}}}},
    })
    assert m.base_url == "https://x.test"
    assert m.endpoint("video_get") == EndpointSpec("/v/{id}", "GET")


def test_unknown_top_level_fields_are_kept() -> None:
    m = load(MOCKS / "mock-forward-compat-unknown-fields-v2.yaml")
    assert m.model_extra is not None
    assert m.model_extra["max_context_window"] == 2000000
    assert m.model_extra["future_extension_flag"] is True


# -- capabilities ---------------------------------------------------------------------


def test_capability_forms() -> None:
    assert make(capabilities=["chat", "tools"]).capabilities == {"chat", "text", "tools"}
    assert make(capabilities={"streaming": True, "vision": False}).capabilities == {"streaming"}
    v2 = make(capabilities={"required": ["text"], "optional": ["reasoning"],
                            "feature_flags": {"structured_output": True}})
    assert v2.capabilities == {"text", "reasoning"}
    assert v2.feature_flags == {"extended_thinking": True, "structured_output": True}
    assert make().capabilities == frozenset()


def test_capability_helpers() -> None:
    assert capability_tiers(["chat", "vision", "streaming", "tools", "mcp_client"]) == (
        ("text", "streaming", "tools"), ("vision", "mcp_client"),
    )
    assert derive_feature_flags(["reasoning", "parallel_tools"]) == {
        "extended_thinking": True, "parallel_tool_calls": True,
    }
    assert capability_for_operation("MCPListTools") == "mcp_client"
    assert capability_for_operation("VideoGenerate") == "video_generation"
    assert capability_for_operation("computer_use") == "computer_use"
    with pytest.raises(ConfigurationError, match="unknown operation"):
        capability_for_operation("Teleport")


def test_require_capability_raises_e1005_before_any_io() -> None:
    m = make(capabilities=["chat"])
    m.require_capability("text")
    with pytest.raises(ConfigurationError) as info:
        m.require_operation("ComputerUse")
    assert info.value.code == "E1005"
    assert "computer_use" in info.value.message and "acme" in info.value.message
    assert not info.value.retryable and not info.value.fallbackable


def test_mcp_integration_method() -> None:
    assert make(capabilities=["mcp_client"]).mcp_integration_method == "tool_bridge"
    assert make().mcp_integration_method == "not_supported"
    native = load(COMPLIANCE / "v2/providers/openai.yaml")
    assert native.mcp_integration_method == "native_api"


# -- payload format derivation -----------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"payload_format": "cohere_v2"}, "cohere_v2"),
        ({"endpoints": {"chat": {"path": "/m", "adapter": "anthropic"}}}, "anthropic_style"),
        ({"api_families": {"chat": {"request_format": "gemini"}}}, "gemini_style"),
        ({"streaming": {"decoder": {"format": "anthropic_sse",
                                    "strategy": "anthropic_event_stream"}}}, "anthropic_style"),
        ({"id": "google"}, "gemini_style"),
        ({}, "openai_style"),
    ],
)
def test_payload_format_derivation(fields: dict[str, Any], expected: str) -> None:
    assert make(**fields).payload_format == expected


# -- immutability and runtime cache --------------------------------------------------------


def test_manifest_is_immutable_and_has_its_own_runtime_cache() -> None:
    a, b = make(), make()
    with pytest.raises(ValidationError):
        a.id = "other"  # type: ignore[misc]
    a.runtime_cache["plan"] = 1
    assert a.runtime_cache == {"plan": 1} and b.runtime_cache == {}


# -- errors ------------------------------------------------------------------------------


def error_of(tmp_path: Path, text: str) -> ProtocolError:
    path = write(tmp_path, text)
    with pytest.raises(ProtocolError) as info:
        ProtocolLoader(env={}).load_file(path)
    return info.value


MINIMAL = """
    id: acme
    protocol_version: "1.5"
    endpoint:
      base_url: https://api.acme.test
"""


def test_unknown_enum_value_names_file_line_and_path(tmp_path: Path) -> None:
    err = error_of(tmp_path, MINIMAL + """
    streaming:
      decoder:
        format: xml
    """)
    assert err.path == "streaming.decoder.format"
    assert err.line == 8
    assert err.source is not None and err.source.endswith("acme.yaml")
    assert "'xml'" in err.message and "sse" in err.message
    assert "acme.yaml:8 at streaming.decoder.format" in str(err)


def test_bogus_auth_type(tmp_path: Path) -> None:
    err = error_of(tmp_path, MINIMAL + """
    auth:
      type: bogus
    """)
    assert (err.path, err.line) == ("auth.type", 7)
    assert "bearer" in err.message


def test_wrong_type(tmp_path: Path) -> None:
    err = error_of(tmp_path, MINIMAL + """
    retry_policy:
      max_retries: many
    """)
    assert err.path == "retry_policy.max_retries"
    assert "integer" in err.message


def test_misspelt_top_level_field(tmp_path: Path) -> None:
    err = error_of(tmp_path, """
    id: acme
    protocol_version: "1.5"
    endpont:
      base_url: https://api.acme.test
    """)
    assert any("endpont" in e and "'endpoint'" in e for e in err.errors)
    assert err.line == 3


def test_misspelt_nested_field_and_parameter_name(tmp_path: Path) -> None:
    err = error_of(tmp_path, MINIMAL + """
    streaming:
      decoder:
        fromat: sse
    """)
    assert err.path == "streaming.decoder.fromat" and "'format'" in err.message
    err = error_of(tmp_path, MINIMAL + """
    parameter_mappings:
      tempreature: temperature
    """)
    assert err.path == "parameter_mappings.tempreature"
    assert "did you mean 'temperature'" in err.message
    err = error_of(tmp_path, MINIMAL + """
    capabilities: [chat, streming]
    """)
    assert "'streaming'" in err.message


def test_unknown_event_type_and_error_class(tmp_path: Path) -> None:
    err = error_of(tmp_path, MINIMAL + """
    streaming:
      event_map:
        - match: "exists($.x)"
          emit: ContentDelta
    """)
    assert err.path == "streaming.event_map[0].emit"
    err = error_of(tmp_path, MINIMAL + """
    error_classification:
      by_http_status:
        "429": rate_limitted
    """)
    assert err.path == "error_classification.by_http_status.429"
    assert "did you mean 'rate_limited'" in err.message


def test_auth_shapes_that_cannot_work(tmp_path: Path) -> None:
    err = error_of(tmp_path, MINIMAL + """
    auth:
      type: custom_header
      token_env: ACME_KEY
    """)
    assert err.path == "auth.header"
    err = error_of(tmp_path, MINIMAL + """
    auth:
      type: query_param
    """)
    assert err.path == "auth.param_name"


def test_bad_provider_id(tmp_path: Path) -> None:
    err = error_of(tmp_path, MINIMAL.replace("id: acme", "id: Acme Corp"))
    assert err.path == "id" and "a-z" in err.message


def test_all_errors_are_listed(tmp_path: Path) -> None:
    err = error_of(tmp_path, """
    name: nothing else
    """)
    assert len(err.errors) == 3
    assert [e.split(":")[0] for e in err.errors] == ["id", "protocol_version", "endpoint"]


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    err = error_of(tmp_path, MINIMAL + """
    streaming: [unclosed
    """)
    assert err.line == 7 and "malformed YAML" in err.message
    assert "from line 6" in err.message


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "id": "acme",\n  "protocol_version": }\n', "acme.json")
    with pytest.raises(ProtocolError) as info:
        ProtocolLoader(env={}).load_file(path)
    assert info.value.line == 3 and "malformed JSON" in info.value.message


def test_not_a_mapping(tmp_path: Path) -> None:
    err = error_of(tmp_path, "- just\n- a list\n")
    assert "mapping" in err.message


def test_an_unknown_protocol_version_is_a_warning() -> None:
    m = make(protocol_version="3.0")
    assert any("protocol_version '3.0'" in w for w in m.warnings)
    assert not any("protocol_version" in w for w in make().warnings)
