"""Routing across models and endpoints.

* :class:`ModelManager`: what each model can do (capabilities, context window) and
  costs, from the shipped model registry (``manifests/models/*.yaml``, the
  AI-Protocol ``v1/models`` form), v2 manifests' ``metadata.models`` and code.
* :class:`ModelArray`: several endpoints or models behind one name, with health
  (health checks, circuit breakers) and a strategy: ``round_robin``, ``weighted``,
  ``least_latency`` (EWMA), ``cost`` (cheapest that can serve the request) or
  ``quality`` (score).
* :class:`RoutingExecutor`: the client's executor for a route. The array orders the
  targets of each call; the resilience layer (retry, breaker, rate limit and its one
  fallback implementation) tries them in that order.

A registered array is a model id::

    from ai_lib_python.routing import ModelArray, register_route

    register_route("fast-cheap", ModelArray(
        ["groq/llama-3.3-70b-versatile", "deepseek/deepseek-v4-flash"], strategy="cost"))
    client = await AiClient.create("route:fast-cheap")
"""

from ai_lib_python.routing._array import (
    Member,
    MemberState,
    ModelArray,
    RouteArguments,
    default_models,
)
from ai_lib_python.routing._executor import RoutedHandler, RoutingExecutor
from ai_lib_python.routing._models import ModelManager, ModelSpec, normalize_capabilities
from ai_lib_python.routing._registry import (
    ROUTE_PREFIX,
    get_route,
    is_route,
    register_route,
    route_arguments,
    routes,
    unregister_route,
)
from ai_lib_python.routing._request import (
    DEFAULT_OUTPUT_TOKENS,
    estimate_input_tokens,
    estimate_tokens,
    required_capabilities,
)
from ai_lib_python.routing._strategies import (
    Candidate,
    CostBased,
    LeastLatency,
    QualityBased,
    RoundRobin,
    Strategy,
    Weighted,
)

__all__ = [
    "DEFAULT_OUTPUT_TOKENS",
    "ROUTE_PREFIX",
    "Candidate",
    "CostBased",
    "LeastLatency",
    "Member",
    "MemberState",
    "ModelArray",
    "ModelManager",
    "ModelSpec",
    "QualityBased",
    "RoundRobin",
    "RouteArguments",
    "RoutedHandler",
    "RoutingExecutor",
    "Strategy",
    "Weighted",
    "default_models",
    "estimate_input_tokens",
    "estimate_tokens",
    "get_route",
    "is_route",
    "normalize_capabilities",
    "register_route",
    "required_capabilities",
    "route_arguments",
    "routes",
    "unregister_route",
]
