"""Resilience settings, and the one place where their sources are merged.

Every setting is resolved field by field; the first source that sets a field wins:

1. **code**: values given to :class:`ResilienceConfig` and its settings objects, or
   to the ``AiClientBuilder`` methods (``with_retry``, ``with_rate_limit``, ...);
2. **environment**: the ``AI_LIB_*`` variables below;
3. the **production preset** (:meth:`ResilienceConfig.production`, what
   ``AiClientBuilder.production_ready()`` turns on);
4. the **manifest** of each target (``retry_policy``; rate-limit header names);
5. the **library defaults** (the defaults of the settings classes).

A layer whose settings are ``None`` at every level is off. The environment can turn
a layer on (``AI_LIB_MAX_INFLIGHT=32`` enables backpressure) but never off.

=============================== ==================================================
Variable                        Setting
=============================== ==================================================
``AI_LIB_MAX_RETRIES``          ``RetrySettings.max_retries``
``AI_LIB_RETRY_MIN_DELAY_MS``   ``RetrySettings.min_delay_ms``
``AI_LIB_RETRY_MAX_DELAY_MS``   ``RetrySettings.max_delay_ms``
``AI_LIB_RETRY_MAX_WAIT_MS``    ``RetrySettings.max_retry_after_ms`` (retry-after cap)
``AI_LIB_RATE_LIMIT_RPS``       ``RateLimitSettings.requests_per_second``
``AI_LIB_RATE_LIMIT_BURST``     ``RateLimitSettings.burst``
``AI_LIB_RATE_LIMIT_TPM``       ``RateLimitSettings.tokens_per_minute``
``AI_LIB_RATE_LIMIT_MAX_WAIT_S`` ``RateLimitSettings.max_wait_s``
``AI_LIB_BREAKER_FAILURES``     ``BreakerSettings.failure_threshold``
``AI_LIB_BREAKER_RECOVERY_S``   ``BreakerSettings.recovery_s``
``AI_LIB_BREAKER_PROBES``       ``BreakerSettings.half_open_probes``
``AI_LIB_MAX_INFLIGHT``         ``BackpressureSettings.max_inflight``
``AI_LIB_QUEUE_TIMEOUT_S``      ``BackpressureSettings.queue_timeout_s``
``AI_LIB_TIMEOUT_CONNECT``      ``Timeout.connect`` (seconds, ``none`` disables)
``AI_LIB_TIMEOUT_FIRST_TOKEN``  ``Timeout.first_token``
``AI_LIB_TIMEOUT_IDLE``         ``Timeout.idle``
``AI_LIB_TIMEOUT_TOTAL``        ``Timeout.total``
``AI_LIB_REDIS_URL``            shared state in Redis (when no backend is given in code)
``AI_LIB_REDIS_ON_ERROR``       ``local`` (default) or ``fail_closed``
=============================== ==================================================
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ai_lib_python.errors import ConfigurationError
from ai_lib_python.resilience._retry_policy import Jitter, RetryPolicy, Strategy
from ai_lib_python.transport import Timeout

if TYPE_CHECKING:
    from ai_lib_python.protocol import RetrySpec
    from ai_lib_python.resilience._state import StateBackend

Clock = Callable[[], float]
"""Wall-clock seconds (``time.time``); shared state compares it across processes."""
Sleep = Callable[[float], Awaitable[None]]
Rand = Callable[[], float]

default_clock: Clock = time.time
default_sleep: Sleep = asyncio.sleep
default_rand: Rand = random.random

OnStateError = Literal["local", "fail_closed"]
_TIMEOUT_FIELDS = ("connect", "first_token", "idle", "total")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrySettings:
    """Overrides of the manifest's ``retry_policy``; ``None`` leaves a field to it."""

    max_retries: int | None = None
    min_delay_ms: int | None = None
    max_delay_ms: int | None = None
    max_retry_after_ms: int | None = None
    strategy: Strategy | None = None
    jitter: Jitter | None = None

    def policy_for(self, spec: RetrySpec | None) -> RetryPolicy:
        """The policy for a target whose manifest says ``spec``, these fields on top."""
        base = RetryPolicy.from_manifest(spec)
        changes = {f.name: getattr(self, f.name) for f in fields(self)
                   if getattr(self, f.name) is not None}
        lo = changes.get("min_delay_ms", base.min_delay_ms)
        if "max_delay_ms" not in changes and lo > base.max_delay_ms:
            changes["max_delay_ms"] = lo
        if "min_delay_ms" not in changes and changes.get("max_delay_ms", lo) < lo:
            changes["min_delay_ms"] = changes["max_delay_ms"]
        return replace(base, **changes)


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitSettings:
    """A token bucket per target, adapted to the provider's rate-limit headers.

    ``requests_per_second`` with ``burst`` (default: one second's worth) limits
    requests; ``tokens_per_minute`` charges the usage reported by each response.
    With neither, only the provider's headers (remaining 0 until reset) and 429s
    pause a target. A wait longer than ``max_wait_s`` raises RateLimitedError.
    """

    requests_per_second: float | None = None
    burst: int | None = None
    tokens_per_minute: int | None = None
    max_wait_s: float | None = None
    adapt_to_headers: bool | None = None

    def __post_init__(self) -> None:
        for name in ("requests_per_second", "tokens_per_minute", "max_wait_s"):
            v = getattr(self, name)
            if v is not None and (v < 0 or math.isnan(v)):
                raise ConfigurationError(f"rate limit {name} must not be negative, got {v}")
        if self.burst is not None and self.burst < 1:
            raise ConfigurationError(f"rate limit burst must be at least 1, got {self.burst}")


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerSettings:
    """A circuit breaker per target (provider + model + base URL).

    ``failure_threshold`` consecutive failures open it for ``recovery_s``; then up to
    ``half_open_probes`` calls probe the target and ``success_threshold`` successful
    probes close it again (one failed probe reopens it). Failures are errors whose
    standard category is ``server`` (5xx, overloaded, timeouts, lost connections).
    """

    failure_threshold: int | None = None
    recovery_s: float | None = None
    half_open_probes: int | None = None
    success_threshold: int | None = None

    def __post_init__(self) -> None:
        for name in ("failure_threshold", "half_open_probes", "success_threshold"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ConfigurationError(f"circuit breaker {name} must be at least 1, got {v}")
        if self.recovery_s is not None and self.recovery_s < 0:
            raise ConfigurationError("circuit breaker recovery_s must not be negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class BackpressureSettings:
    """At most ``max_inflight`` calls of one client at once; a call waits at most
    ``queue_timeout_s`` for a slot, then raises BackpressureError."""

    max_inflight: int | None = None
    queue_timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.max_inflight is not None and self.max_inflight < 1:
            raise ConfigurationError(f"max_inflight must be at least 1, got {self.max_inflight}")
        if self.queue_timeout_s is not None and not (0 <= self.queue_timeout_s < math.inf):
            raise ConfigurationError("queue_timeout must be a finite number of seconds")


DEFAULT_RATE_LIMIT = RateLimitSettings(max_wait_s=30.0, adapt_to_headers=True)
DEFAULT_BREAKER = BreakerSettings(failure_threshold=5, recovery_s=30.0, half_open_probes=1,
                                  success_threshold=1)
DEFAULT_BACKPRESSURE = BackpressureSettings(max_inflight=64, queue_timeout_s=30.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResilienceConfig:
    """What the ResilientExecutor applies; a ``None`` layer is off (see the module doc)."""

    retry: RetrySettings = field(default_factory=RetrySettings)
    rate_limit: RateLimitSettings | None = None
    circuit_breaker: BreakerSettings | None = None
    backpressure: BackpressureSettings | None = None
    timeouts: Mapping[str, float | None] | None = None
    """Explicit fields of the transport's Timeout (connect, first_token, idle, total).
    The transport belongs to the client: ``AiClientBuilder`` applies these through
    :meth:`transport_timeout`; with ``AiClient.create`` pass ``timeout=`` yourself."""
    state_backend: StateBackend | None = None
    production: bool = False
    """Apply the production preset under the code and environment settings."""

    def __post_init__(self) -> None:
        for name in self.timeouts or {}:
            if name not in _TIMEOUT_FIELDS:
                raise ConfigurationError(
                    f"unknown timeout {name!r}; expected one of {', '.join(_TIMEOUT_FIELDS)}")

    @classmethod
    def production_preset(cls) -> ResilienceConfig:
        """The production preset (see ``AiClientBuilder.production_ready``)."""
        return cls(
            rate_limit=RateLimitSettings(adapt_to_headers=True, max_wait_s=30.0),
            circuit_breaker=DEFAULT_BREAKER,
            backpressure=DEFAULT_BACKPRESSURE,
            timeouts={"connect": 10.0, "first_token": 60.0, "idle": 60.0, "total": 600.0},
        )

    def resolve(self, environ: Mapping[str, str] | None = None) -> ResilienceConfig:
        """This config with the environment and preset merged in and defaults filled.

        Idempotent. The retry settings stay partial: the manifest of each target
        fills the rest (:meth:`RetrySettings.policy_for`).
        """
        env = from_env(os.environ if environ is None else environ,
                       backend=self.state_backend is None)
        preset = ResilienceConfig.production_preset() if self.production else ResilienceConfig()
        layers: list[ResilienceConfig] = [preset, env, self]

        def merged(name: str, default: Any) -> Any:
            out: Any = None
            for layer in layers:
                out = _overlay(out, getattr(layer, name))
            return _overlay(default, out) if out is not None else None

        retry = merged("retry", RetrySettings())
        timeouts = self._timeout_fields(env.timeouts or {})
        return ResilienceConfig(
            retry=retry,
            rate_limit=merged("rate_limit", DEFAULT_RATE_LIMIT),
            circuit_breaker=merged("circuit_breaker", DEFAULT_BREAKER),
            backpressure=merged("backpressure", DEFAULT_BACKPRESSURE),
            timeouts=timeouts or None,
            state_backend=self.state_backend or env.state_backend,
            production=False,
        )

    def transport_timeout(self, environ: Mapping[str, str] | None = None) -> Timeout | None:
        """The transport's Timeout: defaults <- preset <- environment <- code, or ``None``
        when no source sets a field (the transport keeps its own defaults)."""
        merged = self._timeout_fields(_env_timeouts(os.environ if environ is None else environ))
        return replace(Timeout(), **merged) if merged else None

    def _timeout_fields(self, env: Mapping[str, float | None]) -> dict[str, float | None]:
        merged: dict[str, float | None] = {}
        if self.production:
            merged.update(ResilienceConfig.production_preset().timeouts or {})
        merged.update(env)
        merged.update(self.timeouts or {})
        return merged


_T = TypeVar("_T")


def _overlay(low: _T | None, high: _T | None) -> _T | None:
    """``high``'s fields that are set (not None) over ``low``'s."""
    if low is None:
        return high
    if high is None:
        return low
    assert dataclasses.is_dataclass(high)
    changes = {f.name: getattr(high, f.name) for f in fields(high)
               if getattr(high, f.name) is not None}
    return replace(low, **changes)  # type: ignore[type-var]


# -- environment ---------------------------------------------------------------------
def _num(environ: Mapping[str, str], name: str, kind: Callable[[str], Any]) -> Any:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        return kind(raw.strip())
    except ValueError:
        raise ConfigurationError(f"environment variable {name}={raw!r} is not a valid "
                                 f"{'integer' if kind is int else 'number'}") from None


def _seconds_or_none(raw: str) -> float | None:
    if raw.lower() in ("none", "off", "disabled"):
        return None
    return float(raw)


def _env_timeouts(environ: Mapping[str, str]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name in _TIMEOUT_FIELDS:
        var = f"AI_LIB_TIMEOUT_{name.upper()}"
        if environ.get(var, "").strip():
            out[name] = _num(environ, var, _seconds_or_none)
    return out


def from_env(environ: Mapping[str, str], *, backend: bool = True) -> ResilienceConfig:
    """The settings the ``AI_LIB_*`` variables give (the table in the module doc);
    with ``backend=False`` no RedisBackend is created for ``AI_LIB_REDIS_URL``."""
    retry = RetrySettings(
        max_retries=_num(environ, "AI_LIB_MAX_RETRIES", int),
        min_delay_ms=_num(environ, "AI_LIB_RETRY_MIN_DELAY_MS", int),
        max_delay_ms=_num(environ, "AI_LIB_RETRY_MAX_DELAY_MS", int),
        max_retry_after_ms=_num(environ, "AI_LIB_RETRY_MAX_WAIT_MS", int),
    )
    rate = RateLimitSettings(
        requests_per_second=_num(environ, "AI_LIB_RATE_LIMIT_RPS", float),
        burst=_num(environ, "AI_LIB_RATE_LIMIT_BURST", int),
        tokens_per_minute=_num(environ, "AI_LIB_RATE_LIMIT_TPM", int),
        max_wait_s=_num(environ, "AI_LIB_RATE_LIMIT_MAX_WAIT_S", float),
    )
    breaker = BreakerSettings(
        failure_threshold=_num(environ, "AI_LIB_BREAKER_FAILURES", int),
        recovery_s=_num(environ, "AI_LIB_BREAKER_RECOVERY_S", float),
        half_open_probes=_num(environ, "AI_LIB_BREAKER_PROBES", int),
    )
    pressure = BackpressureSettings(
        max_inflight=_num(environ, "AI_LIB_MAX_INFLIGHT", int),
        queue_timeout_s=_num(environ, "AI_LIB_QUEUE_TIMEOUT_S", float),
    )
    timeouts = _env_timeouts(environ)
    state: StateBackend | None = None
    url = environ.get("AI_LIB_REDIS_URL", "").strip() if backend else ""
    if url:
        on_error = environ.get("AI_LIB_REDIS_ON_ERROR", "local").strip() or "local"
        if on_error not in ("local", "fail_closed"):
            raise ConfigurationError(
                f"AI_LIB_REDIS_ON_ERROR={on_error!r}; expected 'local' or 'fail_closed'")
        from ai_lib_python.resilience._redis import RedisBackend

        state = RedisBackend(url, on_error=on_error)  # type: ignore[arg-type]
    return ResilienceConfig(
        retry=retry,
        rate_limit=rate if _any_set(rate) else None,
        circuit_breaker=breaker if _any_set(breaker) else None,
        backpressure=pressure if _any_set(pressure) else None,
        timeouts=timeouts or None,
        state_backend=state,
    )


def _any_set(obj: object) -> bool:
    assert dataclasses.is_dataclass(obj)
    return any(getattr(obj, f.name) is not None for f in fields(obj))


__all__ = [
    "DEFAULT_BACKPRESSURE",
    "DEFAULT_BREAKER",
    "DEFAULT_RATE_LIMIT",
    "BackpressureSettings",
    "BreakerSettings",
    "Clock",
    "OnStateError",
    "Rand",
    "RateLimitSettings",
    "ResilienceConfig",
    "RetrySettings",
    "Sleep",
    "default_clock",
    "default_rand",
    "default_sleep",
    "from_env",
]
