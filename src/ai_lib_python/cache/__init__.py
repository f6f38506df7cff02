"""Response cache: an opt-in layer (stage 30) of the execution path.

::

    client = await (AiClient.builder().model("openai/gpt-4o")
                    .with_cache(DiskCache("~/.cache/ai-lib/responses.db"), ttl=86400)
                    .build())

* :class:`ResponseCache` is the layer. Its key is a stable hash of the normalized
  request (provider, model, messages, tools, parameters; not the API key, the stream
  flag, extra headers or the timeout). A hit makes no request; a stream request gets
  the cached answer replayed as the same typed events. Errors, failed, cancelled or
  abandoned streams are never stored. ``CallStats.extra`` says ``cache``: ``hit`` /
  ``miss`` and ``cache_bytes``; :attr:`ResponseCache.counters` totals hits, misses,
  stores, bypasses, backend errors and bytes for telemetry.
* Backends: :class:`MemoryCache` (LRU + TTL, injected clock), :class:`DiskCache`
  (one sqlite file, survives restarts, safe for several processes) and
  :class:`RedisCache` (shared across hosts; needs the ``redis`` extra).
"""

from ai_lib_python.cache._backends import CacheBackend, DiskCache, MemoryCache, RedisCache
from ai_lib_python.cache._codec import events_from_response, request_key
from ai_lib_python.cache._layer import CacheCounters, ResponseCache
from ai_lib_python.client._assemble import STAGE_CACHE

__all__ = [
    "STAGE_CACHE",
    "CacheBackend",
    "CacheCounters",
    "DiskCache",
    "MemoryCache",
    "RedisCache",
    "ResponseCache",
    "events_from_response",
    "request_key",
]
