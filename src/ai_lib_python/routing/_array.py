"""ModelArray: several endpoints or models behind one name, with health and a strategy."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ai_lib_python.client._assemble import Target
from ai_lib_python.errors import ConfigurationError
from ai_lib_python.routing._models import ModelManager, ModelSpec
from ai_lib_python.routing._request import (
    DEFAULT_OUTPUT_TOKENS,
    estimate_input_tokens,
    prompt_upper_bound,
    required_capabilities,
)
from ai_lib_python.routing._strategies import Candidate, Strategy, strategy_of
from ai_lib_python.types import ChatRequest


@dataclass(frozen=True, slots=True)
class Member:
    """One entry of a ModelArray: a target plus the facts routing uses."""

    target: Target
    name: str = ""
    quality: float = 0.0
    """Score for the quality strategy (higher is better; any scale)."""

    @property
    def model(self) -> str:
        return self.target.model

    @property
    def weight(self) -> float:
        return self.target.weight


@dataclass(slots=True)
class MemberState:
    """What the array has learnt about one member (read it through ``ModelArray.state``)."""

    latency_ms: float | None = None
    """EWMA of observed latency: whole call for execute, time to first token for streams."""
    calls: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    checked_healthy: bool = True
    """The HealthChecker's last verdict (True until a check says otherwise)."""
    check_detail: str | None = None
    breaker: str = "closed"
    """The circuit breaker state the resilience layer last reported for this member."""
    breaker_until: float | None = None
    last_error: str | None = None

    def healthy(self, now: float) -> bool:
        if not self.checked_healthy:
            return False
        return not (self.breaker == "open" and self.breaker_until is not None
                    and now < self.breaker_until)


_default_models: ModelManager | None = None


def default_models() -> ModelManager:
    """The process-wide ModelManager holding the shipped model registry."""
    global _default_models
    if _default_models is None:
        _default_models = ModelManager.default()
    return _default_models


def _member_of(item: str | Target | Member) -> Member:
    if isinstance(item, Member):
        return item
    if isinstance(item, Target):
        return Member(item)
    if isinstance(item, str):
        return Member(Target(item))
    raise ConfigurationError(f"a ModelArray member must be a model id, Target or Member, "
                             f"not {type(item).__name__}")


def _names(members: Sequence[Member]) -> list[str]:
    models = [m.model for m in members]
    out: list[str] = []
    for i, m in enumerate(members):
        if m.name:
            out.append(m.name)
        elif models.count(m.model) == 1:
            out.append(m.model)
        elif m.target.base_url:
            out.append(f"{m.model}@{m.target.base_url}")
        else:
            out.append(f"{m.model}#{i}")
    if len(set(out)) != len(out):
        raise ConfigurationError("ModelArray member names must be unique; give Member(name=...)")
    return out


class ModelArray:
    """Models or endpoints behind one name, ordered per call by a strategy.

    ``strategy`` is a :class:`Strategy` or one of ``"round_robin"``, ``"weighted"``,
    ``"least_latency"``, ``"cost"``, ``"quality"``. Members that cannot serve a
    request (a capability off, or the estimated tokens over the context window, per
    the :class:`ModelManager`) are left out; unhealthy members (failed health check,
    circuit breaker open) go last, in array order. ``rand`` and ``clock`` are injected.
    With ``health_interval_s``, every client routed over the array checks its members'
    availability that often (see :class:`~ai_lib_python.telemetry.HealthChecker`).

    >>> ModelArray(["openai/gpt-5.4-mini", "deepseek/deepseek-v4-flash"], strategy="cost")
    ... # doctest: +ELLIPSIS
    <ModelArray ...>
    """

    def __init__(
        self,
        members: Iterable[str | Target | Member],
        *,
        strategy: Strategy | str = "round_robin",
        models: ModelManager | None = None,
        name: str | None = None,
        rand: Callable[[], float] | None = None,
        clock: Callable[[], float] = time.monotonic,
        ewma_alpha: float = 0.3,
        breaker_cooldown_s: float = 30.0,
        health_interval_s: float | None = None,
    ) -> None:
        items = [_member_of(m) for m in members]
        if not items:
            raise ConfigurationError("a ModelArray needs at least one member")
        if not 0.0 < ewma_alpha <= 1.0:
            raise ConfigurationError("ewma_alpha must be in (0, 1]")
        names = _names(items)
        self.members: tuple[Member, ...] = tuple(
            Member(m.target, n, m.quality) for m, n in zip(items, names, strict=True))
        self.strategy: Strategy = strategy_of(strategy)
        self.name = name
        self._models = models
        self._rand = rand or random.Random().random
        self._clock = clock
        self._alpha = ewma_alpha
        self._cooldown = breaker_cooldown_s
        self.health_interval_s = health_interval_s
        self._states = [MemberState() for _ in self.members]
        self._index = {m.name: i for i, m in enumerate(self.members)}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        names = ", ".join(m.name for m in self.members)
        return f"<ModelArray {self.name or ''} [{names}] {self.strategy.name}>"

    def __len__(self) -> int:
        return len(self.members)

    @property
    def targets(self) -> tuple[Target, ...]:
        return tuple(m.target for m in self.members)

    @property
    def models(self) -> ModelManager:
        return self._models if self._models is not None else default_models()

    def index_of(self, key: int | str) -> int:
        """A member's position from its index or name (or its target's model id)."""
        if isinstance(key, int):
            if not 0 <= key < len(self.members):
                raise IndexError(key)
            return key
        found = self._index.get(key)
        if found is None:
            hits = [i for i, m in enumerate(self.members) if m.model == key]
            if len(hits) != 1:
                raise KeyError(key)
            found = hits[0]
        return found

    def state(self, key: int | str) -> MemberState:
        return self._states[self.index_of(key)]

    # -- choosing -----------------------------------------------------------------
    def spec(self, index: int) -> ModelSpec | None:
        return self.models.get(self.members[index].model)

    def order(self, request: ChatRequest | None = None) -> list[int]:
        """Member indices to try for ``request``, first choice first.

        Raises ConfigurationError when no member can serve the request.
        """
        models = self.models
        specs = [models.get(m.model) for m in self.members]
        needed: frozenset[str] = frozenset()
        prompt: int | None = None
        window = 0
        output = DEFAULT_OUTPUT_TOKENS
        if request is not None:
            needed = required_capabilities(request)
            output = request.max_tokens or DEFAULT_OUTPUT_TOKENS
            windows = [s.context_window for s in specs if s is not None and s.context_window]
            # Count the prompt only when the strategy prices calls or a window may be
            # too small: counting costs far more than the rest of the choice.
            if getattr(self.strategy, "needs_tokens", False) or (windows and (
                    prompt_upper_bound(request) + (request.max_tokens or 0) > min(windows))):
                prompt = estimate_input_tokens(request)
                window = prompt + (request.max_tokens or 0)
        now = self._clock()
        healthy: list[Candidate] = []
        unhealthy: list[int] = []
        missing: list[str] = []
        for i, member in enumerate(self.members):
            spec = specs[i]
            if spec is not None and not spec.supports(needed, tokens=window):
                missing.append(member.name)
                continue
            state = self._states[i]
            if not state.healthy(now):
                unhealthy.append(i)
                continue
            cost = (spec.cost(prompt, output) if spec is not None and prompt is not None
                    else None)
            healthy.append(Candidate(i, member, state, spec, cost))
        if not healthy and not unhealthy:
            wants = ", ".join(sorted(needed)) or "no special capability"
            raise ConfigurationError(
                f"no member of {self.name or 'the model array'} can serve this request "
                f"(needs {wants}, about {window} tokens of context); "
                f"ruled out: {', '.join(missing)}")
        ranked = self.strategy.rank(healthy, self._rand) if healthy else []
        return [c.index for c in ranked] + unhealthy

    def pick(self, request: ChatRequest | None = None) -> Member:
        """The first choice for ``request``."""
        return self.members[self.order(request)[0]]

    # -- learning -----------------------------------------------------------------
    def observe(self, key: int | str, *, ok: bool, latency_ms: float | None = None,
                error: str | None = None) -> None:
        """Record the outcome of one attempt on a member (latency only counts on success)."""
        i = self.index_of(key)
        with self._lock:
            st = self._states[i]
            st.calls += 1
            if ok:
                st.consecutive_failures = 0
                if latency_ms is not None:
                    st.latency_ms = latency_ms if st.latency_ms is None else (
                        self._alpha * latency_ms + (1.0 - self._alpha) * st.latency_ms)
            else:
                st.failures += 1
                st.consecutive_failures += 1
                st.last_error = error

    def set_health(self, key: int | str, healthy: bool, detail: str | None = None) -> None:
        """The HealthChecker's verdict for a member."""
        i = self.index_of(key)
        with self._lock:
            st = self._states[i]
            st.checked_healthy = healthy
            st.check_detail = detail

    def report_breaker(self, key: int | str, state: str,
                       retry_in_s: float | None = None) -> None:
        """The circuit breaker state of a member as the resilience layer reports it.

        An open breaker makes the member unhealthy for ``retry_in_s`` (or the array's
        ``breaker_cooldown_s``); after that it is eligible again and the breaker itself
        decides whether a probe call goes through.
        """
        i = self.index_of(key)
        with self._lock:
            st = self._states[i]
            st.breaker = state
            st.breaker_until = (self._clock() + (retry_in_s if retry_in_s is not None
                                                 else self._cooldown)
                                if state == "open" else None)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Per member: health, breaker, EWMA latency, calls and failures."""
        now = self._clock()
        with self._lock:
            return {
                m.name: {
                    "healthy": st.healthy(now), "checked_healthy": st.checked_healthy,
                    "breaker": st.breaker, "latency_ms": st.latency_ms, "calls": st.calls,
                    "failures": st.failures, "last_error": st.last_error,
                }
                for m, st in zip(self.members, self._states, strict=True)
            }


@dataclass(frozen=True, slots=True)
class RouteArguments:
    """What ``AiClient.create`` needs to build a routed client."""

    model: str
    api_key: str | None
    base_url: str | None
    headers: Mapping[str, str] | None
    fallbacks: tuple[Target, ...]
    executor: Any = field(default=None)
