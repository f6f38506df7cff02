"""PluginLayer: runs the plugins' hooks on the execution path (stage 10, outermost).

Order, for plugins registered as ``p0, p1, ..., pN``: each plugin wraps the ones
registered after it, like nested middleware::

    p0.before -> p1.before -> ... -> pN.before -> provider
    p0.after  <- p1.after  <- ... <- pN.after  <- response

``before_request`` hooks run in registration order; ``after_response``,
``on_error`` and ``on_stream_event`` run in reverse. When ``pK`` answers in
``before_request`` (a short-circuit), the plugins after it and the provider are
not called, and only ``p(K-1) .. p0`` see the response in ``after_response``.
When an error comes up, each plugin's ``on_error`` sees it in turn, innermost
first; the first one to return a response recovers, and that plugin and the
ones outside it then see the response in ``after_response``. An error raised by
a hook goes outward the same way.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import aclosing
from typing import Any

from ai_lib_python.client._assemble import STAGE_PLUGINS
from ai_lib_python.client._context import CallContext, ChatHandler, EventBatch
from ai_lib_python.errors import AiLibError, PluginError
from ai_lib_python.plugins._plugin import Plugin, PluginRegistry, overrides, plugin_name
from ai_lib_python.types import ChatRequest, ChatResponse, StreamEvent

EventHook = Callable[[StreamEvent, CallContext], "StreamEvent | None"]


class PluginLayer:
    """The layer that runs plugins; build it from plugins or a :class:`PluginRegistry`.

    The plugins are fixed when the client is built (``wrap``); registering more in
    the registry afterwards affects clients built later.
    """

    stage = STAGE_PLUGINS

    def __init__(self, plugins: PluginRegistry | Iterable[Plugin] = ()) -> None:
        registry = plugins if isinstance(plugins, PluginRegistry) else PluginRegistry(plugins)
        self.registry = registry

    def wrap(self, inner: ChatHandler) -> ChatHandler:
        plugins = self.registry.plugins
        if not plugins:
            return inner
        return _PluginHandler(inner, plugins)

    def __repr__(self) -> str:
        return f"PluginLayer({[plugin_name(p) for p in self.registry]})"


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _failure(plugin: Plugin, hook: str, exc: Exception) -> Exception:
    if isinstance(exc, AiLibError):
        return exc
    err = PluginError(f"{type(exc).__name__}: {exc}", plugin=plugin_name(plugin), hook=hook)
    err.__cause__ = exc
    return err


def _own(response: ChatResponse, ctx: CallContext) -> ChatResponse:
    """A per-call copy of a response a plugin made (it may hand out the same object twice)."""
    return dataclasses.replace(response, stats=ctx.stats)


class _PluginHandler:
    def __init__(self, inner: ChatHandler, plugins: tuple[Plugin, ...]) -> None:
        self._inner = inner
        self._plugins = plugins
        self._before = tuple(overrides(p, "before_request") for p in plugins)
        self._after = tuple(overrides(p, "after_response") for p in plugins)
        self._error = tuple(overrides(p, "on_error") for p in plugins)
        self._events = tuple(overrides(p, "on_stream_event") for p in plugins)
        self._all_event_hooks: tuple[tuple[Plugin, EventHook], ...] | None = None

    # -- the two halves of the onion ------------------------------------------------
    async def _descend(self, request: ChatRequest, ctx: CallContext
                       ) -> tuple[ChatRequest, ChatResponse | None, Exception | None, int]:
        """Run ``before_request`` hooks. Returns the request to send, a short-circuit
        response or an error, and the index of the innermost plugin to unwind from."""
        for k, plugin in enumerate(self._plugins):
            if not self._before[k]:
                continue
            try:
                result = await _resolve(plugin.before_request(request, ctx))
            except Exception as exc:
                return request, None, _failure(plugin, "before_request", exc), k - 1
            if result is None:
                continue
            if isinstance(result, ChatResponse):
                ctx.stats.extra["short_circuited_by"] = plugin_name(plugin)
                return request, _own(result, ctx), None, k - 1
            if isinstance(result, ChatRequest):
                request = result
                continue
            return request, None, PluginError(
                f"before_request returned {type(result).__name__}; expected a ChatRequest, "
                "a ChatResponse or None", plugin=plugin_name(plugin), hook="before_request",
            ), k - 1
        return request, None, None, len(self._plugins) - 1

    async def _ascend(self, request: ChatRequest, response: ChatResponse | None,
                      error: Exception | None, top: int, ctx: CallContext, *,
                      can_recover: bool = True) -> ChatResponse:
        """Run ``on_error`` / ``after_response`` hooks from plugin ``top`` outward."""
        for k in range(top, -1, -1):
            plugin = self._plugins[k]
            if error is not None:
                if not self._error[k]:
                    continue
                try:
                    recovered = await _resolve(plugin.on_error(request, error, ctx))
                except Exception as exc:
                    if exc is not error:
                        exc.__context__ = error
                    error = _failure(plugin, "on_error", exc)
                    continue
                if recovered is None or not can_recover:
                    continue
                if not isinstance(recovered, ChatResponse):
                    error = PluginError(
                        f"on_error returned {type(recovered).__name__}; expected a "
                        "ChatResponse or None", plugin=plugin_name(plugin), hook="on_error")
                    continue
                ctx.stats.extra["recovered_by"] = plugin_name(plugin)
                response, error = _own(recovered, ctx), None
            if not self._after[k]:
                continue
            assert response is not None
            try:
                replaced = await _resolve(plugin.after_response(request, response, ctx))
            except Exception as exc:
                error = _failure(plugin, "after_response", exc)
                continue
            if replaced is None:
                continue
            if not isinstance(replaced, ChatResponse):
                error = PluginError(
                    f"after_response returned {type(replaced).__name__}; expected a "
                    "ChatResponse or None", plugin=plugin_name(plugin), hook="after_response")
                continue
            response = replaced
        if error is not None:
            raise error
        assert response is not None
        return response

    # -- ChatHandler ----------------------------------------------------------------
    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        request, response, error, top = await self._descend(request, ctx)
        if response is None and error is None:
            try:
                response = await self._inner.execute(request, ctx)
            except Exception as exc:
                error = exc
        return await self._ascend(request, response, error, top, ctx)

    def _event_hooks(self, top: int) -> tuple[tuple[Plugin, EventHook], ...]:
        """``on_stream_event`` of plugins ``top .. 0``, innermost first."""
        if top == len(self._plugins) - 1 and self._all_event_hooks is not None:
            return self._all_event_hooks
        hooks = tuple((p, p.on_stream_event) for k, p in reversed(list(enumerate(self._plugins)))
                      if k <= top and self._events[k])
        if top == len(self._plugins) - 1:
            self._all_event_hooks = hooks
        return hooks

    async def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[EventBatch]:
        request, response, error, top = await self._descend(request, ctx)
        hooks = self._event_hooks(top)
        if response is not None or error is not None:
            final = await self._ascend(request, response, error, top, ctx)
            async for batch in self._replay(final, ctx, hooks):
                yield batch
            return
        yielded = False
        try:
            async with aclosing(self._inner.stream(request, ctx)) as inner:  # type: ignore[type-var]
                if not hooks:
                    async for batch in inner:
                        yielded = True
                        yield batch
                else:
                    # One event at a time: a hook runs when its event is asked for, so
                    # it sees what the caller sees, and an error in a hook comes after
                    # the events before it were delivered.
                    async for batch in inner:
                        yielded = True
                        for event in batch:
                            yield [_apply(hooks, event, ctx)]
        except Exception as exc:
            if yielded:  # the caller has events already: hooks observe, nobody recovers
                await self._ascend(request, None, exc, top, ctx, can_recover=False)
                raise  # pragma: no cover - _ascend always raises here
            final = await self._ascend(request, None, exc, top, ctx)
            async for batch in self._replay(final, ctx, hooks):
                yield batch
            return
        if any(self._after[: top + 1]):
            factory = ctx.response_factory
            assembled = factory() if factory is not None else ChatResponse([])
            final = await self._ascend(request, assembled, None, top, ctx)
            if final is not assembled:
                ctx.response_factory = lambda: final

    @staticmethod
    async def _replay(response: ChatResponse, ctx: CallContext,
                      hooks: tuple[tuple[Plugin, EventHook], ...]) -> AsyncIterator[EventBatch]:
        """The events of a response that did not come from the inner stream."""
        from ai_lib_python.cache import events_from_response  # the one replay of a response

        ctx.response_factory = lambda: response
        ctx.stats.streamed = True
        events = events_from_response(response)
        if not hooks:
            if events:
                yield events
            return
        for event in events:
            yield [_apply(hooks, event, ctx)]

    async def aclose(self) -> None:
        await self._inner.aclose()


def _apply(hooks: tuple[tuple[Plugin, EventHook], ...], event: StreamEvent,
           ctx: CallContext) -> StreamEvent:
    for plugin, hook in hooks:
        try:
            replaced = hook(event, ctx)
        except Exception as exc:
            raise _failure(plugin, "on_stream_event", exc) from exc
        if replaced is not None:
            event = replaced
    return event
