"""Where settings come from: code > AI_LIB_* environment > production preset > manifest >
defaults, resolved in one place; and the AiClientBuilder methods that set them."""

from __future__ import annotations

import pytest

from ai_lib_python import AiClient, Timeout
from ai_lib_python.client._assemble import Target
from ai_lib_python.errors import ConfigurationError
from ai_lib_python.protocol import RetrySpec
from ai_lib_python.resilience import (
    BackpressureSettings,
    BreakerSettings,
    MemoryBackend,
    RateLimitSettings,
    ResilienceConfig,
    ResilientExecutor,
    ResilientHandler,
    RetrySettings,
)
from ai_lib_python.resilience._config import from_env
from ai_lib_python.testing import Fault, ProviderEmulator
from tests.resilience._helpers import KEY

MANIFEST = RetrySpec(max_retries=2, min_delay_ms=500, max_delay_ms=8000,
                     retry_on_http_status=(429, 503))


def test_retry_manifest_then_env_then_code() -> None:
    assert RetrySettings().policy_for(MANIFEST).max_retries == 2
    env = {"AI_LIB_MAX_RETRIES": "4", "AI_LIB_RETRY_MIN_DELAY_MS": "100"}
    resolved = ResilienceConfig().resolve(env).retry.policy_for(MANIFEST)
    assert (resolved.max_retries, resolved.min_delay_ms, resolved.max_delay_ms) == (4, 100, 8000)
    assert resolved.retry_on_http_status == (429, 503)  # still the manifest's
    code = ResilienceConfig(retry=RetrySettings(max_retries=7)).resolve(env)
    policy = code.retry.policy_for(MANIFEST)
    assert (policy.max_retries, policy.min_delay_ms) == (7, 100)
    assert RetrySettings().policy_for(None).max_retries == 3  # library default


def test_retry_overrides_keep_delays_consistent() -> None:
    policy = RetrySettings(min_delay_ms=20000).policy_for(MANIFEST)
    assert policy.min_delay_ms == policy.max_delay_ms == 20000
    policy = RetrySettings(max_delay_ms=100).policy_for(MANIFEST)
    assert policy.min_delay_ms == policy.max_delay_ms == 100


def test_layers_off_unless_some_source_turns_them_on() -> None:
    resolved = ResilienceConfig().resolve({})
    assert resolved.rate_limit is None and resolved.circuit_breaker is None
    assert resolved.backpressure is None and resolved.timeouts is None
    on = ResilienceConfig().resolve({"AI_LIB_MAX_INFLIGHT": "8", "AI_LIB_BREAKER_FAILURES": "2"})
    assert on.backpressure == BackpressureSettings(max_inflight=8, queue_timeout_s=30.0)
    assert on.circuit_breaker is not None and on.circuit_breaker.failure_threshold == 2
    assert on.circuit_breaker.recovery_s == 30.0  # default filled in


def test_code_beats_env_beats_preset() -> None:
    env = {"AI_LIB_MAX_INFLIGHT": "8", "AI_LIB_QUEUE_TIMEOUT_S": "2.5",
           "AI_LIB_TIMEOUT_IDLE": "15", "AI_LIB_TIMEOUT_TOTAL": "none"}
    config = ResilienceConfig(production=True,
                              backpressure=BackpressureSettings(max_inflight=3),
                              timeouts={"connect": 1.0})
    resolved = config.resolve(env)
    assert resolved.backpressure == BackpressureSettings(max_inflight=3, queue_timeout_s=2.5)
    assert resolved.circuit_breaker == BreakerSettings(
        failure_threshold=5, recovery_s=30.0, half_open_probes=1, success_threshold=1)
    assert resolved.rate_limit == RateLimitSettings(max_wait_s=30.0, adapt_to_headers=True)
    assert config.transport_timeout(env) == Timeout(connect=1.0, first_token=60.0, idle=15.0,
                                                    total=None)
    assert resolved.resolve(env) == resolved  # idempotent


@pytest.mark.parametrize(("name", "value"), [
    ("AI_LIB_MAX_RETRIES", "two"), ("AI_LIB_RATE_LIMIT_RPS", "fast"),
    ("AI_LIB_REDIS_ON_ERROR", "maybe"), ("AI_LIB_MAX_INFLIGHT", "0"),
])
def test_bad_environment_values_name_the_variable(name: str, value: str) -> None:
    env = {name: value}
    if name == "AI_LIB_REDIS_ON_ERROR":
        env["AI_LIB_REDIS_URL"] = "redis://127.0.0.1:1/0"
    with pytest.raises(ConfigurationError) as info:
        from_env(env)
    assert name in str(info.value) or "max_inflight" in str(info.value)


def test_env_redis_url_makes_a_redis_backend() -> None:
    from ai_lib_python.resilience import RedisBackend

    config = from_env({"AI_LIB_REDIS_URL": "redis://127.0.0.1:1/0",
                       "AI_LIB_REDIS_ON_ERROR": "fail_closed"})
    assert isinstance(config.state_backend, RedisBackend)
    assert config.state_backend.on_error == "fail_closed"


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ConfigurationError):
        RateLimitSettings(burst=0)
    with pytest.raises(ConfigurationError):
        BreakerSettings(failure_threshold=0)
    with pytest.raises(ConfigurationError):
        ResilienceConfig(timeouts={"read": 1.0})


async def test_builder_builds_one_config(emu: ProviderEmulator,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_LIB_QUEUE_TIMEOUT_S", "7")
    monkeypatch.setenv("AI_LIB_MAX_RETRIES", "9")
    backend = MemoryBackend()
    client = await (AiClient.builder().model("openai/gpt-4o").api_key(KEY)
                    .base_url(emu.url_for("openai"))
                    .with_retry(1, max_retry_after_ms=60000)
                    .with_rate_limit(20, burst=5, tokens_per_minute=10000)
                    .with_circuit_breaker(3, recovery_s=5)
                    .max_inflight(4)
                    .with_timeouts(first_token=3.0, total=None)
                    .with_fallbacks([Target("anthropic/claude-sonnet-4-5", api_key=KEY)])
                    .with_state_backend(backend)
                    .build())
    try:
        handler = client._handler
        assert isinstance(handler, ResilientHandler)
        gate = handler.gate
        assert gate.backpressure is not None
        assert (gate.backpressure.max_inflight, gate.backpressure.queue_timeout_s) == (4, 7.0)
        assert gate.breaker is not None and gate.breaker.failure_threshold == 3
        assert gate.limiter is not None and gate.limiter.burst == 5.0
        assert gate.limiter.tokens_per_minute == 10000
        executor = handler._owner
        assert isinstance(executor, ResilientExecutor) and executor.backend is backend
        policy = executor.policy_for(client._targets[0])
        assert (policy.max_retries, policy.max_retry_after_ms) == (1, 60000)
        assert policy.min_delay_ms == 500  # from the openai manifest
        assert [t.name for t in client._targets] == ["openai/gpt-4o",
                                                     "anthropic/claude-sonnet-4-5"]
        assert client._transport.timeout == Timeout(connect=10.0, first_token=3.0, idle=120.0,
                                                    total=None)
    finally:
        await client.close()


async def test_production_ready_client_works_end_to_end(emu: ProviderEmulator) -> None:
    emu.enqueue(Fault.status(503))
    client = await (AiClient.builder().model("gemini/gemini-2.5-flash").api_key(KEY)
                    .base_url(emu.url_for("gemini")).production_ready()
                    .with_retry(min_delay_ms=1, max_delay_ms=2).build())
    try:
        assert client._transport.timeout == Timeout(10.0, 60.0, 60.0, 600.0)
        resp = await client.chat().user("hi").execute()
        assert resp.content == "Echo: hi" and resp.stats.attempts == 2
        assert resp.stats.extra["breaker"] == "closed"
    finally:
        await client.close()


async def test_builder_without_resilience_retries_per_manifest(emu: ProviderEmulator) -> None:
    """Like the official SDKs, a client retries by default (the manifest's policy)."""
    client = await (AiClient.builder().model("openai/gpt-4o").api_key(KEY)
                    .base_url(emu.url_for("openai")).timeout(5).build())
    try:
        assert isinstance(client._handler, ResilientHandler)
        assert client._transport.timeout == Timeout.of(5)
    finally:
        await client.close()


async def test_max_retries_zero_keeps_the_plain_path(emu: ProviderEmulator) -> None:
    client = await AiClient.create("openai/gpt-4o", api_key=KEY, base_url=emu.url_for("openai"),
                                   max_retries=0)
    try:
        assert not isinstance(client._handler, ResilientHandler)
    finally:
        await client.close()
