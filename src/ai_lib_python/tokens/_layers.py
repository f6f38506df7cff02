"""Token and cost layers of the execution path.

* :class:`ContextWindowGuard` counts the prompt before anything is sent and fails a
  request that cannot fit the model's context window with :class:`ContextWindowError`
  (E1005). Its :meth:`~ContextWindowGuard.check` is also usable alone, e.g. by a
  preflight gate that knows the target model.
* :class:`CostMeter` prices each call's usage from the model registry
  (:class:`ai_lib_python.routing.ModelManager`, the one pricing source) into
  ``CallStats.extra["cost_usd"]`` and adds it to a :class:`CostTracker`.

Both sit at :data:`STAGE_TOKENS`, inside telemetry (so a span sees an E1005 refusal)
and outside the executor; a cache hit never reaches them, and costs nothing.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ai_lib_python.client import CallContext, ChatHandler, EventBatch
from ai_lib_python.errors import ConfigurationError
from ai_lib_python.tokens._counter import TokenCounter, counter_for
from ai_lib_python.types import ChatRequest, ChatResponse, Metadata, Usage

if TYPE_CHECKING:
    from ai_lib_python.routing import ModelManager

STAGE_TOKENS = 45
"""After telemetry (40), before the executor."""


class ContextWindowError(ConfigurationError):
    """The request cannot fit the model's context window (E1005); nothing was sent."""

    code = "E1005"

    def __init__(self, *, model: str, prompt_tokens: int, max_tokens: int | None,
                 context_window: int, exact: bool) -> None:
        self.model = model
        self.prompt_tokens = prompt_tokens
        self.max_tokens = max_tokens
        self.context_window = context_window
        self.exact = exact
        how = "" if exact else "about "
        out = f" + {max_tokens} output tokens asked" if max_tokens else ""
        super().__init__(
            f"the request needs {how}{prompt_tokens} prompt tokens{out}, more than the "
            f"{context_window}-token context window of {model}",
            hint="shorten the conversation or pick a model with a larger window")


def _manifest_for(provider: str) -> Any:
    from ai_lib_python.client import default_loader

    try:
        return default_loader().load_provider_sync(provider)
    except Exception:  # counting falls back to the OpenAI format
        return None


def _models(models: ModelManager | None) -> ModelManager:
    if models is not None:
        return models
    from ai_lib_python.routing import ModelManager

    return ModelManager.default()


class ContextWindowGuard:
    """A layer that refuses, before sending, a request too large for the model.

    Args:
        models: Where context windows come from (default: the shipped registry).
        tolerance: With an estimated count (no exact tokenizer), the count may be this
            fraction too high before a request is refused.
        counter: A fixed TokenCounter (default: one per model).
    """

    stage = STAGE_TOKENS

    def __init__(self, *, models: ModelManager | None = None, tolerance: float = 0.1,
                 counter: TokenCounter | None = None) -> None:
        self._models = _models(models)
        self.tolerance = tolerance
        self._counter = counter

    def check(self, request: ChatRequest, *, provider: str, model: str | None = None,
              manifest: Any = None) -> int | None:
        """Count ``request`` for ``provider/model``; return the prompt tokens, or None when
        the model's window is unknown. Raise ContextWindowError when it cannot fit."""
        name = model or request.model
        spec = self._models.get(f"{provider}/{name}")
        if spec is None or spec.context_window is None:
            return None
        counter = self._counter or counter_for(f"{provider}/{name}")
        if manifest is None:
            manifest = _manifest_for(provider)
        prompt = counter.count_request(request.with_(model=name), manifest)
        counted = prompt if counter.exact else int(prompt * (1.0 - self.tolerance))
        if counted + (request.max_tokens or 0) > spec.context_window:
            raise ContextWindowError(model=f"{provider}/{name}", prompt_tokens=prompt,
                                     max_tokens=request.max_tokens,
                                     context_window=spec.context_window, exact=counter.exact)
        return prompt

    def _check(self, request: ChatRequest, ctx: CallContext) -> None:
        prompt = self.check(request, provider=ctx.stats.provider, model=ctx.stats.model)
        if prompt is not None:
            ctx.stats.extra["prompt_tokens_estimate"] = prompt

    def wrap(self, inner: ChatHandler) -> ChatHandler:
        return _GuardHandler(self, inner)


class _GuardHandler:
    def __init__(self, guard: ContextWindowGuard, inner: ChatHandler) -> None:
        self._guard = guard
        self._inner = inner

    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        self._guard._check(request, ctx)
        return await self._inner.execute(request, ctx)

    async def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[EventBatch]:
        self._guard._check(request, ctx)
        inner = self._inner.stream(request, ctx)
        try:
            async for batch in inner:
                yield batch
        finally:
            close = getattr(inner, "aclose", None)
            if close is not None:
                await close()

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(slots=True)
class ModelTotals:
    """What the calls to one model used and cost."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0


class CostTracker:
    """Adds up usage and cost over many calls; safe to share between clients and threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_model: dict[str, ModelTotals] = {}

    def record(self, model_id: str, usage: Usage | None, cost_usd: float | None) -> None:
        with self._lock:
            totals = self._by_model.setdefault(model_id, ModelTotals())
            totals.calls += 1
            if usage is not None:
                totals.prompt_tokens += usage.prompt_tokens
                totals.completion_tokens += usage.completion_tokens
            if cost_usd is None:
                totals.unpriced_calls += 1
            else:
                totals.cost_usd += cost_usd

    def by_model(self) -> dict[str, ModelTotals]:
        """A copy of the totals per ``provider/model``."""
        with self._lock:
            return {k: ModelTotals(v.calls, v.prompt_tokens, v.completion_tokens, v.cost_usd,
                                   v.unpriced_calls) for k, v in self._by_model.items()}

    @property
    def total_cost_usd(self) -> float:
        with self._lock:
            return sum(t.cost_usd for t in self._by_model.values())

    def counters(self) -> dict[str, float]:
        """Flat totals for telemetry: calls, tokens and USD."""
        with self._lock:
            values = list(self._by_model.values())
        return {
            "calls": float(sum(t.calls for t in values)),
            "prompt_tokens": float(sum(t.prompt_tokens for t in values)),
            "completion_tokens": float(sum(t.completion_tokens for t in values)),
            "cost_usd": sum(t.cost_usd for t in values),
            "unpriced_calls": float(sum(t.unpriced_calls for t in values)),
        }

    def reset(self) -> None:
        with self._lock:
            self._by_model.clear()


class CostMeter:
    """A layer that prices every call into ``stats.extra["cost_usd"]`` and a tracker.

    The price is looked up for the model that actually answered (after fallback);
    ``cost_usd`` is None when the registry has no price for it.
    """

    stage = STAGE_TOKENS

    def __init__(self, tracker: CostTracker | None = None, *,
                 models: ModelManager | None = None) -> None:
        self.tracker = tracker if tracker is not None else CostTracker()
        self._models = _models(models)

    def price(self, ctx: CallContext, usage: Usage | None, *, record: bool = True) -> float | None:
        """Put the cost of ``usage`` in the stats of ``ctx`` (and, with ``record``, in the
        tracker); return it in USD, or None when the model has no price."""
        model_id = f"{ctx.stats.provider}/{ctx.stats.model}"
        spec = self._models.get(model_id)
        cost = spec.usage_cost(usage) if spec is not None else None
        ctx.stats.extra["cost_usd"] = cost
        if record:
            self.tracker.record(model_id, usage, cost)
        return cost

    def wrap(self, inner: ChatHandler) -> ChatHandler:
        return _MeterHandler(self, inner)


class _MeterHandler:
    def __init__(self, meter: CostMeter, inner: ChatHandler) -> None:
        self._meter = meter
        self._inner = inner

    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        response = await self._inner.execute(request, ctx)
        self._meter.price(ctx, response.usage)
        return response

    async def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[EventBatch]:
        usage: Usage | None = None
        inner = self._inner.stream(request, ctx)
        try:
            async for batch in inner:
                for event in batch:
                    if type(event) is Metadata and event.usage is not None:
                        usage = event.usage
                        # In the stats before the caller may stop reading.
                        self._meter.price(ctx, usage, record=False)
                yield batch
        finally:
            close = getattr(inner, "aclose", None)
            if close is not None:
                await close()
            if usage is not None:  # a stream is charged once, for its last usage report
                self._meter.tracker.record(f"{ctx.stats.provider}/{ctx.stats.model}", usage,
                                           ctx.stats.extra.get("cost_usd"))

    async def aclose(self) -> None:
        await self._inner.aclose()
