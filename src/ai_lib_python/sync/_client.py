"""The synchronous AiClient: the async client driven from the facade's loop thread."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ai_lib_python.client import AiClient as AsyncAiClient
from ai_lib_python.client import AiClientBuilder as AsyncAiClientBuilder
from ai_lib_python.client import CancelToken
from ai_lib_python.client._client import _UNSET
from ai_lib_python.sync._builder import ChatRequestBuilder
from ai_lib_python.sync._runner import RUNNER
from ai_lib_python.sync._stream import ChatStream
from ai_lib_python.types import ChatRequest, ChatResponse

if TYPE_CHECKING:
    import httpx

    from ai_lib_python.client._assemble import Executor, Layer, Target
    from ai_lib_python.protocol import ProtocolLoader, ProtocolManifest
    from ai_lib_python.resilience import StateBackend
    from ai_lib_python.routing import ModelArray
    from ai_lib_python.transport import Timeout


class AiClient:
    """A blocking client for one ``provider/model``, for scripts and notebooks.

    The same methods as :class:`ai_lib_python.AiClient`, without ``await``::

        from ai_lib_python.sync import AiClient

        with AiClient.create("openai/gpt-4o") as client:
            print(client.chat().user("2+2?").execute().content)

    Calls run on one private event loop thread shared by the process, so they also
    work where an event loop is already running (Jupyter).
    """

    __slots__ = ("_async",)

    def __init__(self, client: AsyncAiClient) -> None:
        self._async = client
        RUNNER.track(client)

    # -- construction -------------------------------------------------------------
    @classmethod
    def create(
        cls,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: Timeout | float | None = None,
        headers: Mapping[str, str] | None = None,
        manifest: ProtocolManifest | None = None,
        loader: ProtocolLoader | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        limits: httpx.Limits | None = None,
        max_response_bytes: int | None = 64 * 1024 * 1024,
        fallbacks: Sequence[str | Target] = (),
        executor: Executor | None = None,
        layers: Sequence[Layer] = (),
        max_retries: int | None = None,
    ) -> AiClient:
        """Create a client for ``"provider/model"``; the arguments are those of
        :meth:`ai_lib_python.AiClient.create`."""
        client = RUNNER.run(AsyncAiClient.create(
            model, api_key=api_key, base_url=base_url, timeout=timeout, headers=headers,
            manifest=manifest, loader=loader, transport=transport, http_client=http_client,
            limits=limits, max_response_bytes=max_response_bytes, fallbacks=fallbacks,
            executor=executor, layers=layers, max_retries=max_retries))
        return cls(client)

    @classmethod
    def builder(cls) -> AiClientBuilder:
        """Configure a client step by step; ``builder.build()`` returns it."""
        return AiClientBuilder()

    # -- properties ---------------------------------------------------------------
    @property
    def provider(self) -> str:
        """The provider id of the manifest (``openai``)."""
        return self._async.provider

    @property
    def model(self) -> str:
        """The model name, without the provider (``gpt-4o``)."""
        return self._async.model

    @property
    def manifest(self) -> ProtocolManifest:
        """The provider's manifest."""
        return self._async.manifest

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._async.closed

    @property
    def async_client(self) -> AsyncAiClient:
        """The async client underneath (use it only from the facade's loop)."""
        return self._async

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<sync.AiClient {self.provider}/{self.model} {state}>"

    # -- calls --------------------------------------------------------------------
    def chat(self) -> ChatRequestBuilder:
        """Start a chat request for this client's model."""
        self._async._check_open()
        return ChatRequestBuilder(self, self.model)

    def execute(self, request: ChatRequest, *,
                cancel: CancelToken | None = None) -> ChatResponse:
        """Send ``request`` and return the whole response."""
        return RUNNER.run(self._async.execute(request, cancel=cancel))

    def stream(self, request: ChatRequest, *, cancel: CancelToken | None = None) -> ChatStream:
        """Stream ``request``; use as ``with client.stream(req) as s: for event in s: ...``."""
        return ChatStream(self._async.stream(request, cancel=cancel))

    # -- lifecycle ----------------------------------------------------------------
    def close(self) -> None:
        """Close the HTTP client this AiClient created. Safe to call twice."""
        if self._async.closed:
            return
        try:
            RUNNER.run(self._async.close())
        finally:
            RUNNER.untrack(self._async)

    def __enter__(self) -> AiClient:
        self._async._check_open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class AiClientBuilder:
    """Configure a synchronous AiClient step by step; ``builder.build()`` returns it.

    The same setters as :class:`ai_lib_python.AiClientBuilder`.
    """

    __slots__ = ("_inner",)

    def __init__(self) -> None:
        self._inner = AsyncAiClientBuilder()

    def model(self, model: str) -> AiClientBuilder:
        """The ``provider/model`` id (required)."""
        self._inner.model(model)
        return self

    def api_key(self, key: str) -> AiClientBuilder:
        """The API key, instead of the provider's environment variable."""
        self._inner.api_key(key)
        return self

    def base_url(self, url: str) -> AiClientBuilder:
        """Another base URL (a proxy, a local server, the emulator)."""
        self._inner.base_url(url)
        return self

    def timeout(self, timeout: Timeout | float) -> AiClientBuilder:
        """A Timeout, or a total timeout in seconds."""
        self._inner.timeout(timeout)
        return self

    def headers(self, headers: Mapping[str, str]) -> AiClientBuilder:
        """Extra HTTP headers for every request."""
        self._inner.headers(headers)
        return self

    def transport(self, transport: httpx.AsyncBaseTransport) -> AiClientBuilder:
        """An httpx transport (``httpx.MockTransport`` in tests)."""
        self._inner.transport(transport)
        return self

    def limits(self, limits: httpx.Limits) -> AiClientBuilder:
        """Connection pool limits."""
        self._inner.limits(limits)
        return self

    def loader(self, loader: ProtocolLoader) -> AiClientBuilder:
        """The ProtocolLoader that finds manifests."""
        self._inner.loader(loader)
        return self

    def manifest(self, manifest: ProtocolManifest) -> AiClientBuilder:
        """Use this manifest instead of looking one up."""
        self._inner.manifest(manifest)
        return self

    def max_response_bytes(self, limit: int | None) -> AiClientBuilder:
        """Largest response body accepted (ResponseTooLargeError beyond); None: no limit."""
        self._inner.max_response_bytes(limit)
        return self

    # -- resilience ---------------------------------------------------------------
    def with_retry(self, max_retries: int | None = None, *, min_delay_ms: int | None = None,
                   max_delay_ms: int | None = None,
                   max_retry_after_ms: int | None = None) -> AiClientBuilder:
        """Retry retryable errors with exponential backoff and full jitter."""
        self._inner.with_retry(max_retries, min_delay_ms=min_delay_ms,
                               max_delay_ms=max_delay_ms,
                               max_retry_after_ms=max_retry_after_ms)
        return self

    def with_rate_limit(self, requests_per_second: float | None = None, *,
                        burst: int | None = None, tokens_per_minute: int | None = None,
                        max_wait_s: float | None = None,
                        adapt_to_headers: bool = True) -> AiClientBuilder:
        """A token bucket per target, paused by the provider's rate-limit headers."""
        self._inner.with_rate_limit(requests_per_second, burst=burst,
                                    tokens_per_minute=tokens_per_minute,
                                    max_wait_s=max_wait_s, adapt_to_headers=adapt_to_headers)
        return self

    def with_circuit_breaker(self, failure_threshold: int | None = None, *,
                             recovery_s: float | None = None,
                             half_open_probes: int | None = None,
                             success_threshold: int | None = None) -> AiClientBuilder:
        """A circuit breaker per target; while open, calls fail fast (CircuitOpenError)."""
        self._inner.with_circuit_breaker(failure_threshold, recovery_s=recovery_s,
                                         half_open_probes=half_open_probes,
                                         success_threshold=success_threshold)
        return self

    def max_inflight(self, n: int, *, queue_timeout: float | None = None) -> AiClientBuilder:
        """At most ``n`` calls at once; a call waits at most ``queue_timeout`` seconds."""
        self._inner.max_inflight(n, queue_timeout=queue_timeout)
        return self

    def with_fallbacks(self, targets: Sequence[str | Target]) -> AiClientBuilder:
        """Models tried in order after the primary one fails with a fallbackable error."""
        self._inner.with_fallbacks(targets)
        return self

    def with_timeouts(self, *, connect: float | object | None = _UNSET,
                      first_token: float | object | None = _UNSET,
                      idle: float | object | None = _UNSET,
                      total: float | object | None = _UNSET) -> AiClientBuilder:
        """Set some of the four timeouts (seconds; ``None`` disables one)."""
        self._inner.with_timeouts(connect=connect, first_token=first_token, idle=idle,
                                  total=total)
        return self

    def with_state_backend(self, backend: StateBackend) -> AiClientBuilder:
        """Where breakers and rate-limit buckets live (memory, or Redis to share them)."""
        self._inner.with_state_backend(backend)
        return self

    def production_ready(self) -> AiClientBuilder:
        """Turn on the production preset (retry, breaker, rate limit, backpressure,
        timeouts) under anything set in code or in ``AI_LIB_*`` variables."""
        self._inner.production_ready()
        return self

    # -- other layers -------------------------------------------------------------
    def with_cache(self, backend: Any = None, *, ttl: float | None = 3600.0) -> AiClientBuilder:
        """Answer repeated requests from a response cache (``ai_lib_python.cache``)."""
        self._inner.with_cache(backend, ttl=ttl)
        return self

    def with_routing(self, route: str | ModelArray) -> AiClientBuilder:
        """Route calls over a ModelArray, or a route registered under a name."""
        self._inner.with_routing(route)
        return self

    def with_telemetry(self, telemetry: Layer) -> AiClientBuilder:
        """Record every call (``ai_lib_python.telemetry.Telemetry``) or add another layer."""
        self._inner.with_telemetry(telemetry)
        return self

    def with_plugins(self, *plugins: Any, discover: bool = False) -> AiClientBuilder:
        """Run plugins around every call (``ai_lib_python.plugins``)."""
        self._inner.with_plugins(*plugins, discover=discover)
        return self

    def with_guardrails(self, guardrails: Any = None, *, input: Sequence[Any] = (),
                        output: Sequence[Any] = ()) -> AiClientBuilder:
        """Guard the input and the output of every call (``ai_lib_python.guardrails``)."""
        self._inner.with_guardrails(guardrails, input=input, output=output)
        return self

    def build(self) -> AiClient:
        """Create the client."""
        return AiClient(RUNNER.run(self._inner.build()))


def create_sync(
    model: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: Timeout | float | None = None,
    headers: Mapping[str, str] | None = None,
    manifest: ProtocolManifest | None = None,
    loader: ProtocolLoader | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    http_client: httpx.AsyncClient | None = None,
    limits: httpx.Limits | None = None,
    max_response_bytes: int | None = 64 * 1024 * 1024,
    fallbacks: Sequence[str | Target] = (),
    executor: Executor | None = None,
    layers: Sequence[Layer] = (),
    max_retries: int | None = None,
) -> AiClient:
    """Create a synchronous client: the same as ``ai_lib_python.sync.AiClient.create``."""
    return AiClient.create(
        model, api_key=api_key, base_url=base_url, timeout=timeout, headers=headers,
        manifest=manifest, loader=loader, transport=transport, http_client=http_client,
        limits=limits, max_response_bytes=max_response_bytes, fallbacks=fallbacks,
        executor=executor, layers=layers, max_retries=max_retries)
