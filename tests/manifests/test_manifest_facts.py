"""Facts about the embedded provider manifests.

Each test states one fact about a provider's real public API (auth, paths, parameter
names, stream fields, errors) and where it comes from. The stream tests replay real
recorded provider traffic (``../shared/recorded/<provider>/*.json``) through each
manifest's ``frame_selector`` and ``event_map`` with the compiled expression language, and
compare the assembled result with the recording's ``expect`` block.

The manifests are read as plain YAML here; validation through ``ProtocolLoader`` is a
separate concern.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import ai_lib_python
from ai_lib_python.protocol._expr import MISSING, compile_condition, compile_path

MANIFEST_DIR = Path(ai_lib_python.__file__).parent / "manifests"
RECORDED_DIR = Path(__file__).resolve().parents[3] / "shared" / "recorded"

ALL_IDS = sorted(p.stem for p in MANIFEST_DIR.glob("*.yaml"))

EMITS = {
    "PartialContentDelta",
    "ThinkingDelta",
    "ToolCallStarted",
    "PartialToolCall",
    "ToolCallEnded",
    "Metadata",
    "FinalCandidate",
    "StreamEnd",
    "StreamError",
}
STANDARD_PARAMS = {
    "temperature",
    "max_tokens",
    "top_p",
    "top_k",
    "stop_sequences",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "n",
    "logprobs",
    "top_logprobs",
    "reasoning_effort",
    "parallel_tool_calls",
    "user",
    "stream",
}
# anthropic.yaml also maps the system prompt to its top-level field.
EXTRA_PARAMS = {"anthropic": {"system_message"}}
STOP_REASONS = {
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "refusal",
    "pause_turn",
    "other",
}
ERROR_CLASSES = {
    "invalid_request",
    "authentication",
    "permission_denied",
    "not_found",
    "request_too_large",
    "rate_limited",
    "quota_exhausted",
    "server_error",
    "overloaded",
    "timeout",
    "conflict",
    "cancelled",
    "other",
}
# Hosts that are not https: a local server, and a generic server whose URL the user always
# supplies (empty base_url). Azure's per-resource host is an https placeholder.
NON_HTTPS_BASE = {"ollama", "openai-compatible"}


@functools.cache
def manifest(provider_id: str) -> dict[str, Any]:
    with (MANIFEST_DIR / f"{provider_id}.yaml").open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict)
    return data


def auth(provider_id: str) -> dict[str, Any]:
    return manifest(provider_id)["endpoint"]["auth"]


def params(provider_id: str) -> dict[str, str]:
    return manifest(provider_id)["parameter_mappings"]


def rules(provider_id: str) -> list[dict[str, Any]]:
    return manifest(provider_id)["streaming"]["event_map"]


def error_class(provider_id: str, *, status: int | None = None, code: Any = None) -> str | None:
    ec = manifest(provider_id)["error_classification"]
    if code is not None and str(code) in (ec.get("by_error_code") or {}):
        return ec["by_error_code"][str(code)]
    if status is not None:
        return ec["by_http_status"].get(str(status))
    return None


# ----------------------------------------------------------------------------------------
# A minimal replay of the streaming pipeline: SSE split -> frame_selector -> candidate
# fan-out -> event_map, using the compiled expressions the runtime uses.
# ----------------------------------------------------------------------------------------
def sse_frames(text: str, done_signal: str | None) -> tuple[list[dict[str, Any]], bool]:
    """Split an SSE body into JSON frames; report whether the done signal arrived."""
    frames: list[dict[str, Any]] = []
    done = False
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data_lines = []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            if line.startswith("data:"):
                value = line[5:]
                data_lines.append(value[1:] if value.startswith(" ") else value)
        if not data_lines:
            continue
        payload = "\n".join(data_lines)
        if done_signal and payload.strip() == done_signal:
            done = True
            continue
        frames.append(json.loads(payload))
    return frames, done


def resolve(value: Any, root: Any, cur: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("$", "@"):
        found = compile_path(value).get(root, cur)
        return None if found is MISSING else found
    return value


def fan_out(m: dict[str, Any], frame: dict[str, Any]) -> list[dict[str, Any]]:
    cand = m["streaming"].get("candidate")
    choices = frame.get("choices")
    if not cand or not cand.get("fan_out") or not isinstance(choices, list) or len(choices) < 2:
        return [frame]
    return [{**frame, "choices": [c]} for c in choices]


def run_stream(m: dict[str, Any], frames: list[dict[str, Any]]) -> list[tuple[str, dict]]:
    streaming = m["streaming"]
    selector = compile_condition(streaming.get("frame_selector", "true"))
    events: list[tuple[str, dict]] = []
    for raw in frames:
        if not selector(raw, raw):
            continue
        for frame in fan_out(m, raw):
            for rule in streaming["event_map"]:
                cond = compile_condition(rule["match"])
                fields = rule.get("fields") or {}
                if "foreach" in rule:
                    items = compile_path(rule["foreach"]).find(frame, frame)
                else:
                    items = [frame]
                for item in items:
                    if cond(frame, item):
                        out = {k: resolve(v, frame, item) for k, v in fields.items()}
                        events.append((rule["emit"], out))
    return events


def assemble(events: list[tuple[str, dict]]) -> dict[str, Any]:
    content, thinking = [], []
    calls: dict[Any, dict[str, Any]] = {}
    finish = usage = None
    errors = []
    for emit, f in events:
        if emit == "PartialContentDelta" and isinstance(f.get("content"), str):
            content.append(f["content"])
        elif emit == "ThinkingDelta" and isinstance(f.get("thinking"), str):
            thinking.append(f["thinking"])
        elif emit == "ToolCallStarted":
            call = calls.setdefault(f.get("index"), {"id": None, "name": None, "args": ""})
            call["id"] = call["id"] or f.get("tool_call_id")
            call["name"] = call["name"] or f.get("tool_name")
            if isinstance(f.get("arguments"), dict):
                call["args"] = json.dumps(f["arguments"])
        elif emit == "PartialToolCall" and f.get("arguments"):
            calls.setdefault(f.get("index"), {"id": None, "name": None, "args": ""})
            calls[f.get("index")]["args"] += f["arguments"]
        elif emit == "FinalCandidate":
            finish = f.get("finish_reason")
        elif emit == "Metadata" and f.get("usage"):
            usage = f["usage"]
        elif emit == "StreamError":
            errors.append(f.get("error"))
    tool_calls = [
        {"id": c["id"], "name": c["name"], "arguments": json.loads(c["args"] or "{}")}
        for _, c in sorted(calls.items(), key=lambda kv: (kv[0] is None, kv[0]))
    ]
    return {
        "content": "".join(content),
        "reasoning": "".join(thinking),
        "tool_calls": tool_calls,
        "finish_reason": finish,
        "usage": usage,
        "errors": errors,
    }


def usage_counts(usage: dict[str, Any]) -> tuple[Any, Any]:
    if "prompt_tokens" in usage:
        return usage["prompt_tokens"], usage["completion_tokens"]
    if "input_tokens" in usage:
        return usage["input_tokens"], usage["output_tokens"]
    if "promptTokenCount" in usage:
        return usage["promptTokenCount"], usage.get("candidatesTokenCount")
    if "tokens" in usage:
        return usage["tokens"]["input_tokens"], usage["tokens"]["output_tokens"]
    raise AssertionError(f"unknown usage shape {usage}")


RECORDED_TO_MANIFEST = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "groq": "groq",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "openrouter": "openrouter",
    "cohere": "cohere",
    "ollama": "ollama",
    "cerebras": "cerebras",
    "zai": "zai",
}


def recordings(kind: str) -> list[Any]:
    if not RECORDED_DIR.is_dir():
        return []
    out = []
    for path in sorted(RECORDED_DIR.glob("*/*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        is_stream = "stream" in data["response"]
        if kind == "stream" and not (is_stream and data["response"]["stream_format"] == "sse"):
            continue
        if kind == "body" and (is_stream or data["response"]["status"] != 200):
            continue
        if kind == "error" and data["response"]["status"] < 400:
            continue
        provider = RECORDED_TO_MANIFEST[data["provider"]]
        out.append(pytest.param(provider, data, id=f"{path.parent.name}/{path.stem}"))
    return out


# ----------------------------------------------------------------------------------------
# Structure every manifest must satisfy
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("pid", ALL_IDS)
def test_id_matches_file_stem(pid: str) -> None:
    """A manifest's id is its file name, so `provider/model` resolves to the right file."""
    assert manifest(pid)["id"] == pid


@pytest.mark.parametrize("pid", ALL_IDS)
def test_loads_through_protocol_loader(pid: str) -> None:
    """Every embedded manifest passes the runtime's loader and validator."""
    from ai_lib_python.protocol import ProtocolLoader

    loaded = ProtocolLoader().load_provider_sync(pid)
    a = auth(pid)
    envs = tuple(e for e in (a.get("token_env"), a.get("key_env")) if e)
    assert loaded.auth.token_envs == envs


@pytest.mark.parametrize("pid", ALL_IDS)
def test_base_url_is_https_unless_local_or_user_supplied(pid: str) -> None:
    """Hosted providers are reached over https; only local/generic servers may lack a host."""
    base = manifest(pid)["endpoint"]["base_url"]
    if pid in NON_HTTPS_BASE:
        # Empty means "no default host": the user must supply base_url.
        assert base == "" or base.startswith("http://localhost:")
    else:
        assert isinstance(base, str) and base.startswith("https://"), base
        assert not base.endswith("/"), "paths start with '/', base_url must not end with one"


@pytest.mark.parametrize("pid", ALL_IDS)
def test_auth_names_an_env_var_unless_none(pid: str) -> None:
    """Every keyed provider names the env var its own SDK/docs use; custom headers name one."""
    a = auth(pid)
    assert a["type"] in {"bearer", "custom_header", "query_param", "none"}
    if a["type"] != "none":
        assert a.get("token_env"), pid
    if a["type"] == "custom_header":
        assert a.get("header"), pid


@pytest.mark.parametrize("pid", ALL_IDS)
def test_expressions_compile_and_emits_are_known(pid: str) -> None:
    """Every condition and field path compiles; every emit is a standard event type."""
    streaming = manifest(pid)["streaming"]
    for key in ("frame_selector", "stop_condition"):
        if key in streaming:
            compile_condition(streaming[key])
    assert streaming["event_map"], pid
    for rule in streaming["event_map"]:
        assert rule["emit"] in EMITS, rule
        compile_condition(rule["match"])
        if "foreach" in rule:
            assert "[*]" in rule["foreach"]
            compile_path(rule["foreach"])
        for value in (rule.get("fields") or {}).values():
            if isinstance(value, str) and value[:1] in ("$", "@"):
                compile_path(value)


@pytest.mark.parametrize("pid", ALL_IDS)
def test_parameter_names_are_standard(pid: str) -> None:
    """parameter_mappings keys are the standard names the request builder produces."""
    allowed = STANDARD_PARAMS | EXTRA_PARAMS.get(pid, set())
    assert set(params(pid)) <= allowed, set(params(pid)) - allowed


@pytest.mark.parametrize("pid", ALL_IDS)
def test_termination_and_error_targets_are_standard(pid: str) -> None:
    """Finish reasons map to the spec's stop reasons; errors to the 13 standard classes."""
    m = manifest(pid)
    assert set(m["termination"]["mapping"].values()) <= STOP_REASONS
    ec = m["error_classification"]
    assert set(ec["by_http_status"].values()) <= ERROR_CLASSES
    assert set((ec.get("by_error_code") or {}).values()) <= ERROR_CLASSES
    assert all(str(k).isdigit() for k in ec["by_http_status"])


@pytest.mark.parametrize("pid", ALL_IDS)
def test_multi_candidate_only_when_the_provider_takes_n(pid: str) -> None:
    """features.multi_candidate native is declared only where the body has a candidate count."""
    m = manifest(pid)
    mc = (m.get("features") or {}).get("multi_candidate") or {}
    if mc.get("support_type") == "native":
        target = mc["param_name"]
        assert target in set(params(pid).values()) or any(
            v.endswith("." + target) for v in params(pid).values()
        ), pid
    if "n" in params(pid):
        assert mc.get("support_type") == "native", pid


def test_stream_options_only_where_the_provider_accepts_it() -> None:
    """stream_options.include_usage is sent only to providers documented (or recorded) to
    accept it: OpenAI, DeepSeek, xAI, OpenRouter, DeepInfra, DashScope, Zhipu/z.ai (recorded),
    Azure (2024-10-21 GA) and Ollama. Mistral rejects unknown fields; Groq, Cerebras, Together,
    Moonshot, Cohere send usage without it."""
    with_options = {pid for pid in ALL_IDS if manifest(pid)["streaming"].get("stream_options")}
    assert with_options == {
        "openai",
        "deepseek",
        "xai",
        "openrouter",
        "deepinfra",
        "qwen",
        "zhipu",
        "zai",
        "azure-openai",
        "ollama",
    }
    for pid in with_options:
        assert manifest(pid)["streaming"]["stream_options"] == {"include_usage": True}


# ----------------------------------------------------------------------------------------
# Authentication and endpoints
# ----------------------------------------------------------------------------------------
def test_anthropic_uses_x_api_key_not_bearer() -> None:
    """Anthropic authenticates with x-api-key plus anthropic-version (docs.anthropic.com)."""
    a = auth("anthropic")
    assert a["type"] == "custom_header" and a["header"] == "x-api-key"
    assert {"name": "anthropic-version", "value": "2023-06-01"} in a["extra_headers"]


def test_gemini_key_goes_in_x_goog_api_key() -> None:
    """Gemini takes the key in the x-goog-api-key header (ai.google.dev API reference)."""
    a = auth("gemini")
    assert (a["type"], a["header"], a["token_env"]) == (
        "custom_header",
        "x-goog-api-key",
        "GEMINI_API_KEY",
    )


def test_openai_uses_max_completion_tokens() -> None:
    """OpenAI deprecated max_tokens; reasoning models only accept max_completion_tokens."""
    assert params("openai")["max_tokens"] == "max_completion_tokens"


def test_azure_uses_api_key_header_deployment_path_and_api_version() -> None:
    """Azure OpenAI: raw key in `api-key`, deployment in the path, required api-version query
    (learn.microsoft.com Azure OpenAI inference reference, GA 2024-10-21)."""
    m = manifest("azure-openai")
    a = auth("azure-openai")
    assert (a["type"], a["header"], a["token_env"]) == (
        "custom_header",
        "api-key",
        "AZURE_OPENAI_API_KEY",
    )
    path = m["endpoints"]["chat"]["path"]
    assert path.startswith("/openai/deployments/{model}/chat/completions?")
    assert "api-version=2024-10-21" in path
    assert "{resource}" in m["endpoint"]["base_url"]
    assert params("azure-openai")["max_tokens"] == "max_completion_tokens"


def test_cohere_v2_chat_is_at_v2_chat_with_its_own_payload() -> None:
    """Cohere's v2 Chat API is POST https://api.cohere.com/v2/chat; the SDK reads CO_API_KEY."""
    m = manifest("cohere")
    assert m["endpoint"]["base_url"] + m["endpoints"]["chat"]["path"] == (
        "https://api.cohere.com/v2/chat"
    )
    assert m["payload_format"] == "cohere_v2"
    assert auth("cohere")["type"] == "bearer"
    assert auth("cohere")["token_env"] == "CO_API_KEY"


def test_cohere_names_nucleus_and_top_k_p_and_k() -> None:
    """Cohere's chat body names top_p `p` and top_k `k`, and takes stop_sequences; no n."""
    p = params("cohere")
    assert (p["top_p"], p["top_k"], p["stop_sequences"]) == ("p", "k", "stop_sequences")
    assert "n" not in p


@pytest.mark.parametrize(
    ("pid", "url", "env"),
    [
        ("deepseek", "https://api.deepseek.com/chat/completions", "DEEPSEEK_API_KEY"),
        ("groq", "https://api.groq.com/openai/v1/chat/completions", "GROQ_API_KEY"),
        ("mistral", "https://api.mistral.ai/v1/chat/completions", "MISTRAL_API_KEY"),
        ("xai", "https://api.x.ai/v1/chat/completions", "XAI_API_KEY"),
        ("openrouter", "https://openrouter.ai/api/v1/chat/completions", "OPENROUTER_API_KEY"),
        ("together", "https://api.together.xyz/v1/chat/completions", "TOGETHER_API_KEY"),
        (
            "fireworks",
            "https://api.fireworks.ai/inference/v1/chat/completions",
            "FIREWORKS_API_KEY",
        ),
        ("perplexity", "https://api.perplexity.ai/chat/completions", "PERPLEXITY_API_KEY"),
        ("cerebras", "https://api.cerebras.ai/v1/chat/completions", "CEREBRAS_API_KEY"),
        (
            "deepinfra",
            "https://api.deepinfra.com/v1/openai/chat/completions",
            "DEEPINFRA_API_KEY",
        ),
        (
            "qwen",
            "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions",
            "DASHSCOPE_API_KEY",
        ),
        ("moonshot", "https://api.moonshot.ai/v1/chat/completions", "MOONSHOT_API_KEY"),
        ("zhipu", "https://open.bigmodel.cn/api/paas/v4/chat/completions", "ZHIPUAI_API_KEY"),
        ("zai", "https://api.z.ai/api/paas/v4/chat/completions", "ZAI_API_KEY"),
        ("siliconflow", "https://api.siliconflow.cn/v1/chat/completions", "SILICONFLOW_API_KEY"),
        ("nvidia", "https://integrate.api.nvidia.com/v1/chat/completions", "NVIDIA_API_KEY"),
    ],
)
def test_bearer_endpoint_and_env_var(pid: str, url: str, env: str) -> None:
    """Chat URL and key variable as given in each provider's own API reference / SDK."""
    m = manifest(pid)
    assert m["endpoint"]["base_url"] + m["endpoints"]["chat"]["path"] == url
    assert (auth(pid)["type"], auth(pid)["token_env"]) == ("bearer", env)
    assert m["payload_format"] == "openai_style"


def test_ollama_is_local_and_keyless() -> None:
    """Ollama's OpenAI-compatible server listens on http://localhost:11434/v1 and needs no key."""
    m = manifest("ollama")
    assert m["endpoint"]["base_url"] == "http://localhost:11434/v1"
    assert auth("ollama")["type"] == "none"


def test_openai_compatible_has_no_fixed_host() -> None:
    """A generic vLLM / LM Studio / llama.cpp server has no default URL and usually no key:
    auth type none (a key given in code or in OPENAI_COMPATIBLE_API_KEY is still sent as a
    bearer token; tests/client/test_chat_e2e.py shows both)."""
    m = manifest("openai-compatible")
    assert m["endpoint"]["base_url"] == ""
    assert auth("openai-compatible")["type"] == "none"
    assert params("openai-compatible")["max_tokens"] == "max_tokens"


def test_secondary_key_variables() -> None:
    """Second accepted variables: PPLX_API_KEY (older Perplexity name), COHERE_API_KEY,
    ZHIPU_API_KEY, DEEPINFRA_API_TOKEN."""
    assert auth("perplexity")["key_env"] == "PPLX_API_KEY"
    assert auth("cohere")["key_env"] == "COHERE_API_KEY"
    assert auth("zhipu")["key_env"] == "ZHIPU_API_KEY"
    assert auth("deepinfra")["key_env"] == "DEEPINFRA_API_TOKEN"


# ----------------------------------------------------------------------------------------
# Parameter names
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pid", "field"),
    [
        ("groq", "max_completion_tokens"),  # max_tokens deprecated (Groq API reference)
        ("xai", "max_completion_tokens"),  # max_tokens deprecated (xAI API reference)
        ("cerebras", "max_completion_tokens"),  # Cerebras chat completions reference
        ("moonshot", "max_completion_tokens"),  # "max_tokens: Deprecated" (Kimi chat API)
        ("deepseek", "max_tokens"),  # DeepSeek create-chat-completion
        ("mistral", "max_tokens"),
        ("openrouter", "max_tokens"),
        ("together", "max_tokens"),
        ("qwen", "max_tokens"),
        ("zhipu", "max_tokens"),
        ("ollama", "max_tokens"),
    ],
)
def test_max_tokens_field_name(pid: str, field: str) -> None:
    """Each provider gets the output-length field its API reference names."""
    assert params(pid)["max_tokens"] == field


def test_mistral_seed_is_random_seed_and_unknown_fields_are_not_sent() -> None:
    """Mistral's request schema names the seed random_seed and forbids unknown fields, so no
    user, logprobs or stream_options (mistralai client ChatCompletionRequest)."""
    p = params("mistral")
    assert p["seed"] == "random_seed"
    assert not {"user", "logprobs", "top_logprobs"} & set(p)
    assert "stream_options" not in manifest("mistral")["streaming"]


def test_openrouter_reasoning_effort_goes_in_the_reasoning_object() -> None:
    """OpenRouter controls reasoning with reasoning.effort and supports top_k; it has no n."""
    p = params("openrouter")
    assert p["reasoning_effort"] == "reasoning.effort"
    assert p["top_k"] == "top_k"
    assert "n" not in p


@pytest.mark.parametrize(
    ("pid", "absent"),
    [
        ("groq", {"n", "logprobs", "top_logprobs"}),  # only n=1; logprobs not supported
        ("deepseek", {"n", "seed", "user"}),  # not in the create-chat-completion body
        ("together", {"logprobs"}),  # an integer count there, not the OpenAI boolean
        ("perplexity", {"n", "stop_sequences", "seed", "parallel_tool_calls"}),
        ("cohere", {"n", "user", "parallel_tool_calls"}),
        ("zhipu", {"n", "seed", "frequency_penalty", "presence_penalty"}),
    ],
)
def test_parameters_the_provider_rejects_are_not_mapped(pid: str, absent: set[str]) -> None:
    """A parameter the provider rejects or reinterprets is left out of parameter_mappings."""
    assert not absent & set(params(pid))


# ----------------------------------------------------------------------------------------
# Stream fields, finish reasons, errors, rate limits
# ----------------------------------------------------------------------------------------
def thinking_fields(pid: str) -> set[str]:
    return {str(r["fields"]["thinking"]) for r in rules(pid) if r["emit"] == "ThinkingDelta"}


@pytest.mark.parametrize(
    ("pid", "field"),
    [
        ("deepseek", "$.choices[0].delta.reasoning_content"),
        ("zai", "$.choices[0].delta.reasoning_content"),
        ("zhipu", "$.choices[0].delta.reasoning_content"),
        ("qwen", "$.choices[0].delta.reasoning_content"),
        ("moonshot", "$.choices[0].delta.reasoning_content"),
        ("siliconflow", "$.choices[0].delta.reasoning_content"),
        ("fireworks", "$.choices[0].delta.reasoning_content"),
        ("xai", "$.choices[0].delta.reasoning_content"),
        ("groq", "$.choices[0].delta.reasoning"),
        ("openrouter", "$.choices[0].delta.reasoning"),
        ("cerebras", "$.choices[0].delta.reasoning"),
        ("ollama", "$.choices[0].delta.reasoning"),
        ("together", "$.choices[0].delta.reasoning"),
        ("cohere", "$.delta.message.content.thinking"),
    ],
)
def test_reasoning_field(pid: str, field: str) -> None:
    """Each provider streams its reasoning text in the field its docs / recordings show."""
    assert field in thinking_fields(pid)


def test_perplexity_has_no_reasoning_field_or_tools() -> None:
    """Perplexity puts <think> inside content and has no function calling."""
    assert thinking_fields("perplexity") == set()
    assert manifest("perplexity")["capabilities"]["tools"] is False
    assert not any(r["emit"].startswith("ToolCall") for r in rules("perplexity"))


@pytest.mark.parametrize(
    ("pid", "raw", "reason"),
    [
        ("deepseek", "insufficient_system_resource", "other"),
        ("mistral", "model_length", "max_tokens"),
        ("openrouter", "error", "other"),
        ("together", "eos", "end_turn"),
        ("zhipu", "sensitive", "refusal"),
        ("zai", "network_error", "other"),
        ("azure-openai", "content_filter", "refusal"),
        ("cohere", "COMPLETE", "end_turn"),
        ("cohere", "TOOL_CALL", "tool_use"),
    ],
)
def test_provider_specific_finish_reasons(pid: str, raw: str, reason: str) -> None:
    """Finish reasons beyond OpenAI's set are mapped (provider references / recordings)."""
    assert manifest(pid)["termination"]["mapping"][raw] == reason


@pytest.mark.parametrize(
    ("pid", "status", "code", "cls"),
    [
        ("deepseek", 402, None, "quota_exhausted"),  # 402 Insufficient Balance
        ("deepseek", 503, None, "overloaded"),  # 503 Server Overloaded
        ("openrouter", 402, None, "quota_exhausted"),  # insufficient credits
        ("openrouter", None, 400, "invalid_request"),  # mid-stream {"error": {"code": 400}}
        ("together", 402, None, "quota_exhausted"),  # monthly spending limit
        ("together", 403, None, "request_too_large"),  # prompt + max_tokens > context
        ("groq", 498, None, "overloaded"),  # flex tier capacity exceeded
        ("groq", 499, None, "cancelled"),
        ("groq", None, "tool_use_failed", "invalid_request"),
        ("moonshot", 429, "exceeded_current_quota_error", "quota_exhausted"),
        ("moonshot", 429, "engine_overloaded_error", "overloaded"),
        ("qwen", 400, "Arrearage", "quota_exhausted"),
        ("zhipu", 429, "1113", "quota_exhausted"),
        ("zai", 429, "1302", "rate_limited"),
        ("cohere", 498, None, "authentication"),
        ("azure-openai", 400, "content_filter", "invalid_request"),
    ],
)
def test_error_classification(pid: str, status: int | None, code: Any, cls: str) -> None:
    """Provider statuses and error codes land in the right standard class (error docs)."""
    assert error_class(pid, status=status, code=code) == cls


@pytest.mark.parametrize(
    ("pid", "headers"),
    [
        (
            "groq",
            {
                "requests_limit": "x-ratelimit-limit-requests",
                "tokens_remaining": "x-ratelimit-remaining-tokens",
                "retry_after": "retry-after",
            },
        ),
        (
            "cerebras",
            {
                "requests_limit": "x-ratelimit-limit-requests-day",
                "tokens_remaining": "x-ratelimit-remaining-tokens-minute",
                "tokens_reset": "x-ratelimit-reset-tokens-minute",
            },
        ),
        (
            "mistral",
            {
                "requests_remaining": "x-ratelimit-remaining-req-minute",
                "tokens_limit": "x-ratelimit-limit-tokens-minute",
            },
        ),
        (
            "azure-openai",
            {"requests_remaining": "x-ratelimit-remaining-requests", "retry_after": "retry-after"},
        ),
    ],
)
def test_rate_limit_header_names(pid: str, headers: dict[str, str]) -> None:
    """Rate-limit header names as each provider documents them (not OpenAI's by default)."""
    assert headers.items() <= manifest(pid)["rate_limit_headers"].items()


def test_deepseek_declares_no_rate_limit_headers() -> None:
    """DeepSeek documents dynamic limits and sends no x-ratelimit-* headers."""
    assert "rate_limit_headers" not in manifest("deepseek")


# ----------------------------------------------------------------------------------------
# Stream behaviour checked on frames shaped like the providers' documented output
# ----------------------------------------------------------------------------------------
def test_moonshot_usage_inside_the_choice_is_read() -> None:
    """Moonshot puts streamed usage in choices[0].usage of the final chunk."""
    frame = {
        "id": "cmpl-x",
        "model": "kimi-k2.6",
        "object": "chat.completion.chunk",
        "choices": [
            {
                "index": 0,
                "delta": {},
                "finish_reason": "stop",
                "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
            }
        ],
    }
    result = assemble(run_stream(manifest("moonshot"), [frame]))
    assert result["finish_reason"] == "stop"
    assert usage_counts(result["usage"]) == (7, 3)


def test_openai_compatible_reasoning_is_never_doubled() -> None:
    """Servers that send the same text in reasoning_content and reasoning yield it once."""
    frames = [
        {"choices": [{"index": 0, "delta": {"reasoning_content": "a", "reasoning": "a"}}]},
        {"choices": [{"index": 0, "delta": {"reasoning": "b"}}]},
        {"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]},
    ]
    result = assemble(run_stream(manifest("openai-compatible"), frames))
    assert (result["reasoning"], result["content"]) == ("ab", "ok")


def cohere_stream() -> str:
    events = [
        (
            "message-start",
            {"id": "m-1", "type": "message-start", "delta": {"message": {"role": "assistant"}}},
        ),
        (
            "content-start",
            {
                "type": "content-start",
                "index": 0,
                "delta": {"message": {"content": {"type": "thinking", "thinking": ""}}},
            },
        ),
        (
            "content-delta",
            {
                "type": "content-delta",
                "index": 0,
                "delta": {"message": {"content": {"thinking": "Look it up."}}},
            },
        ),
        ("content-end", {"type": "content-end", "index": 0}),
        (
            "tool-plan-delta",
            {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": " Call the tool."}}},
        ),
        (
            "tool-call-start",
            {
                "type": "tool-call-start",
                "index": 0,
                "delta": {
                    "message": {
                        "tool_calls": {
                            "id": "t_1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": ""},
                        }
                    }
                },
            },
        ),
        (
            "tool-call-delta",
            {
                "type": "tool-call-delta",
                "index": 0,
                "delta": {"message": {"tool_calls": {"function": {"arguments": '{"q": '}}}},
            },
        ),
        (
            "tool-call-delta",
            {
                "type": "tool-call-delta",
                "index": 0,
                "delta": {"message": {"tool_calls": {"function": {"arguments": '"x"}'}}}},
            },
        ),
        ("tool-call-end", {"type": "tool-call-end", "index": 0}),
        (
            "content-start",
            {
                "type": "content-start",
                "index": 1,
                "delta": {"message": {"content": {"type": "text", "text": ""}}},
            },
        ),
        (
            "content-delta",
            {
                "type": "content-delta",
                "index": 1,
                "delta": {"message": {"content": {"text": "Done"}}},
            },
        ),
        ("content-end", {"type": "content-end", "index": 1}),
        (
            "message-end",
            {
                "id": "m-1",
                "type": "message-end",
                "delta": {
                    "finish_reason": "TOOL_CALL",
                    "usage": {
                        "billed_units": {"input_tokens": 5, "output_tokens": 4},
                        "tokens": {"input_tokens": 50, "output_tokens": 9},
                    },
                },
            },
        ),
    ]
    return "".join(f"event: {name}\ndata: {json.dumps(body)}\n\n" for name, body in events)


def test_cohere_v2_stream_events_map_to_standard_events() -> None:
    """Cohere v2 streams named events (content-delta with text or thinking, tool-plan-delta,
    tool-call-start/delta/end with delta.message.tool_calls.function.*, message-end with
    finish_reason and usage) and ends with message-end, not [DONE] (Cohere streaming docs,
    cohere-python v2 types)."""
    m = manifest("cohere")
    assert "done_signal" not in m["streaming"]["decoder"]
    frames, _ = sse_frames(cohere_stream(), None)
    events = run_stream(m, frames)
    result = assemble(events)
    assert result["content"] == "Done"
    assert result["reasoning"] == "Look it up. Call the tool."
    assert result["tool_calls"] == [{"id": "t_1", "name": "lookup", "arguments": {"q": "x"}}]
    assert result["finish_reason"] == "TOOL_CALL"
    assert usage_counts(result["usage"]) == (50, 9)
    assert [e for e, _ in events].count("ToolCallEnded") == 1
    assert events[-1][0] == "StreamEnd"
    stop = compile_condition(m["streaming"]["stop_condition"])
    assert stop(frames[-1], frames[-1]) and not stop(frames[0], frames[0])


# ----------------------------------------------------------------------------------------
# Recorded provider traffic
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("pid", "rec"), recordings("stream"))
def test_recorded_stream_replays_through_event_map(pid: str, rec: dict[str, Any]) -> None:
    """Replaying a recorded stream through the manifest yields the recorded content,
    reasoning, tool calls, finish reason, usage and in-stream error (recorded traffic)."""
    m = manifest(pid)
    done_signal = m["streaming"]["decoder"].get("done_signal")
    frames, done = sse_frames(rec["response"]["stream"], done_signal)
    result = assemble(run_stream(m, frames))
    expect = rec["expect"]

    assert result["content"] == expect["content"]
    if "reasoning" in expect:
        assert result["reasoning"] == expect["reasoning"]
    assert result["finish_reason"] == expect["finish_reason"]
    got_calls = [(c["name"], c["arguments"]) for c in result["tool_calls"]]
    assert got_calls == [(c["name"], c["arguments"]) for c in expect["tool_calls"]]
    for got, want in zip(result["tool_calls"], expect["tool_calls"], strict=True):
        if want["id"] is not None:
            assert got["id"] == want["id"]
    if expect["usage"] is not None:
        assert result["usage"] is not None
        want = (expect["usage"]["input"], expect["usage"]["output"])
        assert usage_counts(result["usage"]) == want
    if "stream_error" in expect:
        assert result["errors"] == [expect["stream_error"]]
    else:
        assert result["errors"] == []
        stop = compile_condition(m["streaming"]["stop_condition"])
        completed = done or any(stop(f, f) for f in frames)
        assert completed, "a complete recorded stream must not look truncated"


@pytest.mark.parametrize(("pid", "rec"), recordings("body"))
def test_recorded_response_paths(pid: str, rec: dict[str, Any]) -> None:
    """response_paths point at the finish reason, usage and (string) content of real bodies."""
    paths = manifest(pid)["response_paths"]
    body = rec["response"]["body"]
    expect = rec["expect"]
    assert compile_path(paths["finish_reason"]).get(body, body) == expect["finish_reason"]
    assert isinstance(compile_path(paths["usage"]).get(body, body), dict)
    content = compile_path(paths["content"]).get(body, body)
    if isinstance(content, str) and expect["content"] and len(expect["content"]) == len(content):
        assert content == expect["content"]


@pytest.mark.parametrize(("pid", "rec"), recordings("error"))
def test_recorded_errors_are_classified(pid: str, rec: dict[str, Any]) -> None:
    """Recorded HTTP errors map to a standard class through status or provider code."""
    status = rec["response"]["status"]
    err = (rec["response"].get("body") or {}).get("error") or {}
    code = err.get("code") if isinstance(err, dict) else None
    cls = error_class(pid, status=status, code=code)
    assert cls in ERROR_CLASSES
    if status == 429:
        assert cls == "rate_limited"
