"""Routing strategies: each orders the eligible members of a ModelArray for one call.

A strategy sees :class:`Candidate` rows (member, live state, registry facts, the
request's estimated cost) and returns them best first. The array has already
dropped members that cannot serve the request and put unhealthy ones last; the
call goes to the first choice and falls back down the list. Randomness comes from
the ``rand`` callable the array is given, so tests are deterministic.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ai_lib_python.errors import ConfigurationError

if TYPE_CHECKING:
    from ai_lib_python.routing._array import Member, MemberState
    from ai_lib_python.routing._models import ModelSpec


@dataclass(frozen=True, slots=True)
class Candidate:
    """One member as a strategy sees it for one call."""

    index: int
    member: Member
    state: MemberState
    spec: ModelSpec | None
    cost: float | None
    """Estimated USD of this call on this member: None when the price is unknown or the
    strategy does not set ``needs_tokens`` (the prompt is then not counted)."""


@runtime_checkable
class Strategy(Protocol):
    """Orders candidates, best first. ``rand`` returns floats in [0, 1).

    A strategy class may set ``needs_tokens = True`` to have the prompt counted and
    :attr:`Candidate.cost` filled for every call.
    """

    name: str

    def rank(self, candidates: Sequence[Candidate],
             rand: Callable[[], float]) -> list[Candidate]: ...


class RoundRobin:
    """Each call starts one member further along; the rest follow in array order."""

    name = "round_robin"

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def rank(self, candidates: Sequence[Candidate],
             rand: Callable[[], float]) -> list[Candidate]:
        if not candidates:
            return []
        with self._lock:
            start = next(self._counter) % len(candidates)
        return [*candidates[start:], *candidates[:start]]


class Weighted:
    """First choice drawn in proportion to ``Target.weight``; the rest likewise, without
    replacement (each member gets key ``u ** (1 / weight)``, highest first). A member of
    weight 0 is only ever a last resort."""

    name = "weighted"

    def rank(self, candidates: Sequence[Candidate],
             rand: Callable[[], float]) -> list[Candidate]:
        def key(c: Candidate) -> float:
            w = c.member.weight
            if w <= 0:
                return -1.0
            u = rand()
            return u ** (1.0 / w) if u > 0 else 0.0

        keyed = [(key(c), c.index, c) for c in candidates]
        keyed.sort(key=lambda t: (-t[0], t[1]))
        return [c for _, _, c in keyed]


class LeastLatency:
    """Lowest EWMA of observed latency first (time to first token for streams).

    A member never observed ranks first so that it gets measured. With ``explore`` > 0,
    that fraction of calls promotes a random other member to first choice so that a
    slow member that recovered is noticed again.
    """

    name = "least_latency"

    def __init__(self, explore: float = 0.0) -> None:
        if not 0.0 <= explore < 1.0:
            raise ConfigurationError("explore must be in [0, 1)")
        self.explore = explore

    def rank(self, candidates: Sequence[Candidate],
             rand: Callable[[], float]) -> list[Candidate]:
        ordered = sorted(candidates, key=lambda c: (
            -1.0 if c.state.latency_ms is None else c.state.latency_ms, c.index))
        if self.explore and len(ordered) > 1 and rand() < self.explore:
            pick = 1 + min(int(rand() * (len(ordered) - 1)), len(ordered) - 2)
            ordered.insert(0, ordered.pop(pick))
        return ordered


class CostBased:
    """Cheapest estimated cost first; members without a known price come after, in
    array order. (Members that lack a needed capability or window were dropped.)"""

    name = "cost"
    needs_tokens = True

    def rank(self, candidates: Sequence[Candidate],
             rand: Callable[[], float]) -> list[Candidate]:
        return sorted(candidates, key=lambda c: (
            c.cost is None, c.cost if c.cost is not None else math.inf, c.index))


class QualityBased:
    """Highest ``Member.quality`` score first (ties in array order)."""

    name = "quality"

    def rank(self, candidates: Sequence[Candidate],
             rand: Callable[[], float]) -> list[Candidate]:
        return sorted(candidates, key=lambda c: (-c.member.quality, c.index))


_BY_NAME: dict[str, Callable[[], Strategy]] = {
    "round_robin": RoundRobin,
    "weighted": Weighted,
    "least_latency": LeastLatency,
    "cost": CostBased,
    "quality": QualityBased,
}


def strategy_of(value: Strategy | str) -> Strategy:
    """A strategy instance from itself or its name."""
    if isinstance(value, str):
        factory = _BY_NAME.get(value.replace("-", "_"))
        if factory is None:
            raise ConfigurationError(
                f"unknown routing strategy {value!r}",
                hint="use one of " + ", ".join(sorted(_BY_NAME)))
        return factory()
    if not isinstance(value, Strategy):
        raise ConfigurationError(f"{value!r} is not a routing strategy")
    return value
