"""CircuitBreaker: per target, closed -> open -> half-open -> closed.

* **closed**: calls pass; ``failure_threshold`` consecutive failures open it.
* **open**: calls fail fast with CircuitOpenError (no request is sent) until
  ``recovery_s`` has passed.
* **half-open**: at most ``half_open_probes`` calls at once probe the target;
  ``success_threshold`` successful probes close it, one failed probe reopens it.

What counts (:func:`verdict`): an error whose standard category is ``server``
(5xx, overloaded, timeouts, lost connections) is a failure; a completed call or a
``client`` error (the target answered properly) is a success; anything else (rate
limits, cancellation, malformed bodies, refusals of this layer) leaves the count.

State lives in a StateBackend, so processes sharing Redis share each breaker. The
transitions below are pure functions of (state, now, settings).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from ai_lib_python.errors import AiLibError, CircuitOpenError, ResilienceError
from ai_lib_python.resilience._config import DEFAULT_BREAKER, BreakerSettings, Clock, default_clock
from ai_lib_python.resilience._state import BreakerPhase, BreakerState, StateBackend

Verdict = Literal["success", "failure", "none"]
PROBE_LEASE_S = 60.0
"""A probe not settled within this time (its process died) no longer holds a probe slot."""


def verdict(error: BaseException | None, *, answered: bool = False) -> Verdict:
    """How a finished call counts for its target's breaker.

    ``answered``: the target delivered part of an answer before ``error`` (a stream
    closed early by the caller counts as a success).
    """
    if error is None:
        return "success"
    if isinstance(error, ResilienceError) or not isinstance(error, AiLibError):
        return "success" if answered else "none"
    category = error.standard.category
    if category == "server":
        return "failure"
    if category == "client" or answered:
        return "success"
    return "none"


@dataclass(frozen=True, slots=True)
class Ticket:
    """An admission through the breaker of ``key``."""

    key: str
    phase: BreakerPhase
    probe: bool
    failures: int


class CircuitBreaker:
    """Breakers of every target, stored in ``backend``."""

    def __init__(self, settings: BreakerSettings, backend: StateBackend, *,
                 clock: Clock = default_clock) -> None:
        s = dataclasses.replace(DEFAULT_BREAKER, **{
            f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)
            if getattr(settings, f.name) is not None})
        assert s.failure_threshold and s.recovery_s is not None and s.half_open_probes
        self.failure_threshold: int = s.failure_threshold
        self.recovery_s: float = s.recovery_s
        self.half_open_probes: int = s.half_open_probes
        self.success_threshold: int = s.success_threshold or 1
        self._backend = backend
        self._clock = clock

    async def state(self, key: str) -> BreakerState:
        return await self._backend.breaker(key)

    async def admit(self, key: str, *, target: str | None = None) -> Ticket:
        """Let a call through, or raise CircuitOpenError."""
        now = self._clock()
        state = await self._backend.breaker(key)
        if state.phase == "closed":
            return Ticket(key, "closed", False, state.failures)
        if state.phase == "open" and now < state.open_until:
            raise CircuitOpenError(target or key, state.open_until, now=now,
                                   failures=state.failures)
        granted = False
        limit = self.half_open_probes

        def probe(s: BreakerState) -> BreakerState:
            nonlocal granted
            granted = False
            if s.phase == "closed":
                return s
            if s.phase == "open":
                if now < s.open_until:
                    return s
                s = BreakerState("half_open", s.failures, s.open_until)
            probes = s.probes if now < s.probe_lease_until else 0
            if probes >= limit:
                return s
            granted = True
            return dataclasses.replace(s, probes=probes + 1,
                                       probe_lease_until=now + PROBE_LEASE_S)

        new = await self._backend.update_breaker(key, probe)
        if new.phase == "closed":
            return Ticket(key, "closed", False, new.failures)
        if not granted:
            until = new.open_until if new.phase == "open" else new.probe_lease_until
            raise CircuitOpenError(target or key, max(until, now), now=now,
                                   failures=new.failures)
        return Ticket(key, "half_open", True, new.failures)

    async def record(self, ticket: Ticket, outcome: Verdict) -> BreakerState | None:
        """Count a finished call. Returns the new state (None when nothing changed)."""
        if not ticket.probe and (
                outcome == "none" or (outcome == "success" and ticket.failures == 0)):
            return None
        now = self._clock()
        threshold, recovery = self.failure_threshold, self.recovery_s
        successes_needed = self.success_threshold

        def settle(s: BreakerState) -> BreakerState:
            if ticket.probe:
                if s.phase != "half_open":
                    return s
                probes = max(0, s.probes - 1)
                if outcome == "failure":
                    return BreakerState("open", s.failures, now + recovery)
                if outcome == "success":
                    if s.successes + 1 >= successes_needed:
                        return BreakerState()
                    return dataclasses.replace(s, probes=probes, successes=s.successes + 1)
                return dataclasses.replace(s, probes=probes)
            if s.phase != "closed":
                return s
            if outcome == "success":
                return BreakerState() if s.failures else s
            failures = s.failures + 1
            if failures >= threshold:
                return BreakerState("open", failures, now + recovery)
            return dataclasses.replace(s, failures=failures)

        return await self._backend.update_breaker(ticket.key, settle)


__all__ = ["PROBE_LEASE_S", "CircuitBreaker", "Ticket", "Verdict", "verdict"]
