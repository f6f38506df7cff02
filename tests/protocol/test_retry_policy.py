"""RetryPolicy: the retry decision and the backoff delay, with injected randomness."""

from __future__ import annotations

import random

import pytest

from ai_lib_python.errors import ConfigurationError, ProviderError
from ai_lib_python.protocol import ProtocolLoader, RetrySpec
from ai_lib_python.resilience import RetryPolicy, standard_code

from ._paths import OFFICIAL


def test_should_retry_follows_the_standard_table_and_the_attempt_budget() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.should_retry("E2001", 1) and policy.should_retry("rate_limited", 2)
    assert not policy.should_retry("E2001", 3)
    for code in ("E1001", "E1002", "E2002", "E4002", "E9999"):
        assert not policy.should_retry(code, 1), code
    for code in ("E3001", "E3002", "E3003", "E4001"):
        assert policy.should_retry(code, 1), code
    assert not RetryPolicy(max_retries=0).should_retry("E3001", 1)


def test_manifest_status_list_and_code_list_narrow_retries() -> None:
    policy = RetryPolicy(retry_on_http_status=(429, 500))
    assert policy.should_retry("E2001", 1, status=429)
    assert not policy.should_retry("E3003", 1, status=504)
    assert policy.should_retry("E3003", 1)  # a timeout without a status
    err = ProviderError("busy", code="E3002", status=503)
    assert not policy.should_retry(err, 1)
    assert RetryPolicy(retry_on_http_status=(503,)).should_retry(err, 1)
    named = RetryPolicy(retry_on_error_code=("rate_limited",))
    assert named.should_retry("E2001", 1) and not named.should_retry("E3001", 1)


def test_unknown_codes_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown error code 'E0000'"):
        RetryPolicy().should_retry("E0000", 1)
    assert standard_code("overloaded").code == "E3002"


def test_full_jitter_is_bounded_and_grows_exponentially() -> None:
    policy = RetryPolicy(min_delay_ms=1000, max_delay_ms=30000)
    assert policy.delay_s(1, rand=lambda: 0.0) == 1.0  # clamped up to the minimum
    assert policy.delay_s(1, rand=lambda: 1.0) == 1.0
    assert policy.delay_s(3, rand=lambda: 1.0) == 4.0
    assert policy.delay_s(3, rand=lambda: 0.5) == 2.0
    assert policy.delay_s(10, rand=lambda: 1.0) == 30.0  # capped
    assert policy.delay_s(10_000, rand=lambda: 1.0) == 30.0
    rng = random.Random(7)
    for attempt in range(1, 12):
        assert 1.0 <= policy.delay_s(attempt, rand=rng.random) <= 30.0


def test_other_jitters_and_strategies() -> None:
    half = lambda: 0.5  # noqa: E731
    assert RetryPolicy(jitter="none").delay_s(2, rand=half) == 2.0
    assert RetryPolicy(jitter="equal").delay_s(3, rand=half) == 3.0
    assert RetryPolicy(strategy="linear_backoff", jitter="none").delay_s(3, rand=half) == 3.0
    assert RetryPolicy(strategy="fixed_delay", jitter="none").delay_s(5, rand=half) == 1.0


def test_retry_after_wins_but_stays_in_bounds() -> None:
    policy = RetryPolicy(min_delay_ms=500, max_delay_ms=8000)
    assert policy.delay_s(1, retry_after=3.0, rand=lambda: 0.0) == 3.0
    assert policy.delay_s(1, retry_after=120.0, rand=lambda: 0.0) == 8.0
    assert policy.delay_s(1, retry_after=0.0, rand=lambda: 0.0) == 0.5


def test_from_manifest() -> None:
    m = ProtocolLoader(env={}).load_file(OFFICIAL / "v1/providers/anthropic.yaml")
    policy = RetryPolicy.from_manifest(m.retry)
    assert (policy.max_retries, policy.max_delay_ms) == (2, 60000)
    assert policy.retry_on_http_status == (408, 409, 429, 500, 529)
    assert policy.should_retry("E3002", 1, status=529)
    assert RetryPolicy.from_manifest(None) == RetryPolicy()
    odd = RetryPolicy.from_manifest(RetrySpec(min_delay_ms=5000, max_delay_ms=1000))
    assert odd.max_delay_ms == 5000


def test_invalid_policies() -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ConfigurationError, match="below min_delay_ms"):
        RetryPolicy(min_delay_ms=2000, max_delay_ms=1000)
