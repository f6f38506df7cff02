"""Plugins: hooks around every call, middleware that changes or answers requests.

::

    from ai_lib_python.plugins import Plugin

    class Audit(Plugin):
        async def before_request(self, request, ctx):
            ctx.attributes["audit.started"] = time.monotonic()

        async def after_response(self, request, response, ctx):
            log.info("%s answered in %.0f ms", response.model, response.stats.latency_ms)

    client = await AiClient.builder().model("openai/gpt-4o").with_plugins(Audit()).build()

Installed packages can offer plugins through the ``ai_lib_python.plugins``
entry-point group; ``with_plugins(discover=True)`` (or
:meth:`PluginRegistry.discover`) loads them. See :class:`PluginLayer` for the
order in which hooks run.
"""

from ai_lib_python.errors import PluginError
from ai_lib_python.plugins._layer import PluginLayer
from ai_lib_python.plugins._plugin import ENTRY_POINT_GROUP, Plugin, PluginRegistry

__all__ = [
    "ENTRY_POINT_GROUP",
    "Plugin",
    "PluginError",
    "PluginLayer",
    "PluginRegistry",
]
