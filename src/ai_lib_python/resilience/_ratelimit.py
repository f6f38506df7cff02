"""RateLimiter: token buckets per target, adapted to what the provider says.

Per target (provider + model + base URL) there is a request bucket
(``requests_per_second`` refill, ``burst`` capacity) and, with
``tokens_per_minute``, a token bucket charged with each response's usage after the
fact (a call needs a positive balance to start). The provider's rate-limit headers
(names from the manifest's ``rate_limit_headers``) adapt the buckets: ``remaining``
of 0 pauses the target until ``reset``; a smaller ``remaining`` lowers the local
balance. An error with ``retry_after`` (a 429, a 503 with Retry-After) pauses the
target for that long. A wait longer than ``max_wait_s`` is not waited: the call
fails with RateLimitedError carrying ``retry_after``.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Mapping

from ai_lib_python.errors import AiLibError, RateLimitedError
from ai_lib_python.resilience._config import (
    DEFAULT_RATE_LIMIT,
    Clock,
    RateLimitSettings,
    Sleep,
    default_clock,
    default_sleep,
)
from ai_lib_python.resilience._state import StateBackend

_CHARGE_NEED = -1e300  # a charge is always granted (Lua has no -inf literal)
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|h|m|s)")
_MIN_SLEEP_S = 0.001  # a tiny deficit still sleeps long enough for the clock to move
_EPOCH_MIN = 1e9  # a bare number this large is a Unix timestamp, not a duration


def parse_reset(value: str | None, *, now: float) -> float | None:
    """Seconds until a rate-limit window resets, from any provider's header value.

    Accepts seconds (``"1"``, ``"0.5"``), Go-style durations (``"1s"``, ``"6m0s"``,
    ``"20ms"``, ``"1h2m3.5s"``), RFC 3339 timestamps (``"2025-01-01T00:00:00Z"``)
    and Unix timestamps (a number above 1e9). ``now`` is wall-clock seconds. Returns
    ``None`` for anything else; never a negative number.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if math.isnan(number) or math.isinf(number):
            return None
        return max(0.0, number - now if number >= _EPOCH_MIN else number)
    parts = _DURATION.findall(text)
    if parts and "".join(n + u for n, u in parts) == text:
        return _duration(parts)
    return _timestamp(text, now)


_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(parts: list[tuple[str, str]]) -> float:
    return max(0.0, sum(float(n) * _UNIT_S[u] for n, u in parts))


def _timestamp(text: str, now: float) -> float | None:
    iso = text.replace("Z", "+00:00").replace("z", "+00:00")
    # Python 3.10 accepts at most 6 fractional digits.
    iso = re.sub(r"(\.\d{6})\d+", r"\1", iso)
    try:
        when = _dt.datetime.fromisoformat(iso)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return max(0.0, when.timestamp() - now)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


class RateLimiter:
    """Token buckets per target key in a StateBackend (shared when the backend is)."""

    def __init__(self, settings: RateLimitSettings, backend: StateBackend, *,
                 clock: Clock = default_clock, sleep: Sleep = default_sleep) -> None:
        s = settings
        rps = s.requests_per_second or 0.0
        self.requests_per_second = rps
        self.burst = float(s.burst if s.burst is not None else max(1, math.ceil(rps)))
        tpm = s.tokens_per_minute or 0
        self.tokens_per_minute = tpm
        self.max_wait_s = s.max_wait_s if s.max_wait_s is not None else (
            DEFAULT_RATE_LIMIT.max_wait_s or 30.0)
        self.adapt_to_headers = s.adapt_to_headers is not False
        self._backend = backend
        self._clock = clock
        self._sleep = sleep
        self.waiting = 0
        """Calls currently sleeping for a slot (for leak checks and telemetry)."""

    @property
    def enabled(self) -> bool:
        return bool(self.requests_per_second or self.tokens_per_minute or self.adapt_to_headers)

    def _req(self, key: str) -> tuple[str, float, float]:
        return "req:" + key, self.requests_per_second, self.burst

    def _tok(self, key: str) -> tuple[str, float, float]:
        tpm = float(self.tokens_per_minute)
        return "tok:" + key, tpm / 60.0, tpm

    async def acquire(self, key: str, *, target: str | None = None) -> float:
        """Wait for a request slot on ``key``; return the seconds waited.

        Raises RateLimitedError when the next slot is further away than ``max_wait_s``
        (counting what was already waited).
        """
        waited = 0.0
        while True:
            wait = 0.0
            reason = "rate limit"
            if self.tokens_per_minute:
                name, rate, cap = self._tok(key)
                wait = await self._backend.take(name, rate=rate, capacity=cap, cost=0.0,
                                                need=1.0)
                if wait > 0:
                    reason = "token rate limit"
            if wait <= 0:
                name, rate, cap = self._req(key)
                wait = await self._backend.take(name, rate=rate, capacity=cap)
            if wait <= 0:
                return waited
            wait = max(wait, _MIN_SLEEP_S)
            if waited + wait > self.max_wait_s:
                raise RateLimitedError(target or key, wait, max_wait_s=self.max_wait_s,
                                       reason=reason)
            self.waiting += 1
            try:
                await self._sleep(wait)
            finally:
                self.waiting -= 1
            waited += wait

    async def charge(self, key: str, tokens: int) -> None:
        """Subtract the tokens a response used (tokens-per-minute limit only)."""
        if not self.tokens_per_minute or tokens <= 0:
            return
        name, rate, cap = self._tok(key)
        await self._backend.take(name, rate=rate, capacity=cap, cost=float(tokens),
                                 need=_CHARGE_NEED)

    async def pause(self, key: str, seconds: float) -> None:
        """Refuse slots on ``key`` for ``seconds`` (a Retry-After, an exhausted window)."""
        if seconds > 0:
            name, rate, cap = self._req(key)
            await self._backend.adjust(name, rate=rate, capacity=cap, block_s=seconds)

    async def observe(self, key: str, headers: Mapping[str, str] | None,
                      names: Mapping[str, str], error: BaseException | None = None) -> None:
        """Adapt ``key``'s buckets to a response's rate-limit headers and error."""
        block = 0.0
        retry_after = getattr(error, "retry_after", None) if isinstance(
            error, AiLibError) else None
        if isinstance(retry_after, (int, float)) and retry_after > 0:
            block = float(retry_after)
        if self.adapt_to_headers and headers and names:
            now = self._clock()
            for kind in ("requests", "tokens"):
                remaining = _int(_header(headers, names.get(f"{kind}_remaining")))
                if remaining is None:
                    continue
                reset = parse_reset(_header(headers, names.get(f"{kind}_reset")), now=now)
                if remaining <= 0 and reset:
                    block = max(block, reset)
                elif remaining > 0:
                    name, rate, cap = self._req(key) if kind == "requests" else self._tok(key)
                    if rate > 0 and remaining < cap:
                        await self._backend.adjust(name, rate=rate, capacity=cap,
                                                   cap=float(remaining))
        if block > 0:
            await self.pause(key, block)


def _header(headers: Mapping[str, str], name: str | None) -> str | None:
    if not name:
        return None
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value


__all__ = ["RateLimiter", "parse_reset"]
