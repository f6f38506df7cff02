"""The plugin base class and the registry (with entry-point discovery)."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ai_lib_python.errors import ConfigurationError, PluginError
from ai_lib_python.types import ChatRequest, ChatResponse, StreamEvent

if TYPE_CHECKING:
    from ai_lib_python.client._context import CallContext
    from ai_lib_python.plugins._layer import PluginLayer

ENTRY_POINT_GROUP = "ai_lib_python.plugins"
HOOKS = ("before_request", "after_response", "on_stream_event", "on_error")


class Plugin:
    """Base class of plugins: override only the hooks you need.

    Every call through a client passes the plugins' hooks (see :class:`PluginLayer`
    for the order):

    * ``before_request`` may return a changed :class:`ChatRequest` (it is passed on),
      or a :class:`ChatResponse` to answer without calling the provider (a stream
      replays it as events), or ``None`` to leave the request as it is.
    * ``after_response`` may return a replacement response, or ``None``.
    * ``on_stream_event`` (synchronous, called once per event) may return a
      replacement event, or ``None`` to pass the event on unchanged. A client whose
      plugins do not override it pays nothing per event.
    * ``on_error`` sees an error raised below the plugin layer (provider, transport,
      inner layers); returning a ChatResponse recovers from it (for a stream, only
      before its first event reached the caller), ``None`` lets it propagate.

    ``before_request``, ``after_response`` and ``on_error`` may be ``async def`` or
    plain ``def``. ``ctx.attributes`` is a dict for per-call state. A hook that
    raises surfaces as :class:`PluginError` naming the plugin and the hook; an
    :class:`AiLibError` raised on purpose (to refuse a request, say) passes through
    as it is.
    """

    name: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__

    async def before_request(self, request: ChatRequest,
                             ctx: CallContext) -> ChatRequest | ChatResponse | None:
        return None

    async def after_response(self, request: ChatRequest, response: ChatResponse,
                             ctx: CallContext) -> ChatResponse | None:
        return None

    def on_stream_event(self, event: StreamEvent, ctx: CallContext) -> StreamEvent | None:
        return None

    async def on_error(self, request: ChatRequest, error: Exception,
                       ctx: CallContext) -> ChatResponse | None:
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} plugin {plugin_name(self)!r}>"


def plugin_name(plugin: Plugin) -> str:
    return getattr(plugin, "name", "") or type(plugin).__name__


def overrides(plugin: Plugin, hook: str) -> bool:
    """Whether ``plugin`` implements ``hook`` (the base class's no-op does not count)."""
    impl = getattr(type(plugin), hook, None)
    if impl is not None and impl is not getattr(Plugin, hook):
        return True
    return hook in getattr(plugin, "__dict__", {})  # a hook set on the instance


class PluginRegistry:
    """An ordered set of plugins with unique names.

    The order of registration is the order of ``before_request`` hooks; the
    after-hooks run in reverse. :meth:`discover` adds the plugins installed
    packages declare in the ``ai_lib_python.plugins`` entry-point group::

        [project.entry-points."ai_lib_python.plugins"]
        audit = "my_package.plugins:AuditPlugin"
    """

    def __init__(self, plugins: Iterable[Plugin] = ()) -> None:
        self._plugins: dict[str, Plugin] = {}
        for p in plugins:
            self.register(p)

    def register(self, plugin: Plugin) -> Plugin:
        """Add ``plugin`` at the end; its name must be new. Returns the plugin."""
        if not isinstance(plugin, Plugin):
            raise ConfigurationError(
                f"{plugin!r} is not a Plugin; subclass ai_lib_python.plugins.Plugin")
        name = plugin_name(plugin)
        if name in self._plugins:
            raise ConfigurationError(f"a plugin named {name!r} is already registered",
                                     hint="give one of them another `name`")
        self._plugins[name] = plugin
        return plugin

    def unregister(self, name: str) -> Plugin:
        try:
            return self._plugins.pop(name)
        except KeyError:
            raise ConfigurationError(f"no plugin named {name!r} is registered") from None

    def get(self, name: str) -> Plugin | None:
        return self._plugins.get(name)

    @property
    def plugins(self) -> tuple[Plugin, ...]:
        return tuple(self._plugins.values())

    def __iter__(self) -> Iterator[Plugin]:
        return iter(tuple(self._plugins.values()))

    def __len__(self) -> int:
        return len(self._plugins)

    def __contains__(self, name: object) -> bool:
        return name in self._plugins

    def __repr__(self) -> str:
        return f"PluginRegistry({list(self._plugins)})"

    def discover(self, group: str = ENTRY_POINT_GROUP, *,
                 names: Iterable[str] | None = None) -> list[Plugin]:
        """Load and register the plugins of an entry-point group (all, or ``names``).

        An entry point may name a Plugin subclass (instantiated without arguments),
        a Plugin instance, or a callable returning one. Entry points are sorted by
        name, so the order does not depend on the installation order. Returns the
        plugins added.
        """
        wanted = set(names) if names is not None else None
        added: list[Plugin] = []
        seen: set[str] = set()
        for ep in sorted(importlib.metadata.entry_points(group=group), key=lambda e: e.name):
            if wanted is not None and ep.name not in wanted:
                continue
            seen.add(ep.name)
            added.append(self.register(_load_entry_point(ep)))
        if wanted is not None:
            missing = wanted - seen
            if missing:
                raise ConfigurationError(
                    f"no plugin entry point named {sorted(missing)} in group {group!r}")
        return added

    def layer(self) -> PluginLayer:
        """The execution-path layer running these plugins (stage 10)."""
        from ai_lib_python.plugins._layer import PluginLayer

        return PluginLayer(self)


def _load_entry_point(ep: importlib.metadata.EntryPoint) -> Plugin:
    try:
        obj: Any = ep.load()
        if not isinstance(obj, Plugin) and callable(obj):  # a Plugin class or a factory
            obj = obj()
    except Exception as exc:
        raise PluginError(f"{type(exc).__name__}: {exc}", plugin=ep.name,
                          hook="load") from exc
    if not isinstance(obj, Plugin):
        raise PluginError(f"entry point {ep.value!r} gave {type(obj).__name__}, not a Plugin",
                          plugin=ep.name, hook="load")
    return obj
