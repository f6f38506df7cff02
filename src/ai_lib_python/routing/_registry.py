"""Named routes: a ModelArray registered under a name is usable as ``route:<name>``."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ai_lib_python.client._assemble import Target
from ai_lib_python.errors import ConfigurationError
from ai_lib_python.routing._array import ModelArray, RouteArguments

if TYPE_CHECKING:
    from ai_lib_python.client._assemble import Executor

ROUTE_PREFIX = "route:"

_lock = threading.Lock()
_routes: dict[str, ModelArray] = {}


def register_route(name: str, array: ModelArray, *, replace: bool = True) -> ModelArray:
    """Make ``array`` available as the model id ``route:<name>``; returns it."""
    if not name or ":" in name or "/" in name:
        raise ConfigurationError(f"route name {name!r} must be non-empty, without ':' or '/'")
    if not isinstance(array, ModelArray):
        raise ConfigurationError("register_route needs a ModelArray")
    with _lock:
        if not replace and name in _routes:
            raise ConfigurationError(f"route {name!r} is already registered")
        _routes[name] = array
        if array.name is None:
            array.name = name
    return array


def unregister_route(name: str) -> ModelArray | None:
    """Forget a route; returns it (None when unknown)."""
    with _lock:
        return _routes.pop(name, None)


def get_route(name: str) -> ModelArray:
    """The array registered as ``name`` (a leading ``route:`` is accepted)."""
    key = name[len(ROUTE_PREFIX):] if name.startswith(ROUTE_PREFIX) else name
    with _lock:
        array = _routes.get(key)
        known = sorted(_routes)
    if array is None:
        raise ConfigurationError(
            f"no route named {key!r}",
            hint="register it with ai_lib_python.routing.register_route(name, ModelArray(...))"
            + (f"; known routes: {', '.join(known)}" if known else ""))
    return array


def routes() -> dict[str, ModelArray]:
    """A copy of the registered routes."""
    with _lock:
        return dict(_routes)


def is_route(model: str) -> bool:
    """Whether ``model`` is a route id (``route:<name>``)."""
    return isinstance(model, str) and model.startswith(ROUTE_PREFIX)


def route_arguments(route: str | ModelArray, *, fallbacks: Sequence[str | Target] = (),
                    executor: Executor | None = None) -> RouteArguments:
    """What ``AiClient.create`` needs for a routed client: the first member as the
    primary target, the other members (then ``fallbacks``) as further targets, and a
    RoutingExecutor (``executor``, when given, is used as the per-target resilience
    policy unless it is already a RoutingExecutor)."""
    from ai_lib_python.resilience import ResilientExecutor
    from ai_lib_python.routing._executor import RoutingExecutor

    array = get_route(route) if isinstance(route, str) else route
    first, *rest = array.targets
    extra = tuple(f if isinstance(f, Target) else Target(f) for f in fallbacks)
    routing: Any
    if isinstance(executor, RoutingExecutor):
        if executor.array is not array:
            raise ConfigurationError("the RoutingExecutor given routes another ModelArray")
        routing = executor
    elif executor is None or isinstance(executor, ResilientExecutor):
        routing = RoutingExecutor(array, resilience=executor)
    else:
        raise ConfigurationError(
            "a routed client takes a ResilientExecutor or a RoutingExecutor as executor=")
    return RouteArguments(model=first.model, api_key=first.api_key, base_url=first.base_url,
                          headers=first.headers, fallbacks=(*rest, *extra), executor=routing)
