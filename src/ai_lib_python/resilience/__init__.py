"""Resilience: retry, fallback, circuit breaker, rate limiter and backpressure, as
layers of the client's one execution path (``ResilientExecutor``).

    from ai_lib_python import AiClient

    client = await (AiClient.builder().model("openai/gpt-4o")
                    .with_fallbacks(["anthropic/claude-sonnet-4-5"])
                    .production_ready().build())

Settings come from code, then ``AI_LIB_*`` environment variables, then the manifest
(see ``ResilienceConfig``). ``RedisBackend`` (the ``redis`` extra) shares limits and
breakers between processes; it is imported only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ai_lib_python.resilience._backpressure import Backpressure
from ai_lib_python.resilience._breaker import CircuitBreaker
from ai_lib_python.resilience._config import (
    BackpressureSettings,
    BreakerSettings,
    RateLimitSettings,
    ResilienceConfig,
    RetrySettings,
)
from ai_lib_python.resilience._executor import (
    ResilienceSnapshot,
    ResilientExecutor,
    ResilientHandler,
)
from ai_lib_python.resilience._fallback import FallbackHandler
from ai_lib_python.resilience._preflight import GatedHandler, PreflightChecker
from ai_lib_python.resilience._ratelimit import RateLimiter, parse_reset
from ai_lib_python.resilience._retry import RetryHandler
from ai_lib_python.resilience._retry_policy import RetryPolicy, standard_code
from ai_lib_python.resilience._state import BreakerState, MemoryBackend, StateBackend

if TYPE_CHECKING:
    from ai_lib_python.resilience._redis import RedisBackend


def __getattr__(name: str) -> Any:
    if name == "RedisBackend":  # needs the optional ``redis`` package
        from ai_lib_python.resilience._redis import RedisBackend

        return RedisBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Backpressure",
    "BackpressureSettings",
    "BreakerSettings",
    "BreakerState",
    "CircuitBreaker",
    "FallbackHandler",
    "GatedHandler",
    "MemoryBackend",
    "PreflightChecker",
    "RateLimitSettings",
    "RateLimiter",
    "RedisBackend",
    "ResilienceConfig",
    "ResilienceSnapshot",
    "ResilientExecutor",
    "ResilientHandler",
    "RetryHandler",
    "RetryPolicy",
    "RetrySettings",
    "StateBackend",
    "parse_reset",
    "standard_code",
]
