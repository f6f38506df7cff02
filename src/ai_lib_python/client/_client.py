"""AiClient: the entry point. One client talks to one provider/model through one
execution path; it owns its HTTP client and closes only what it created."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from ai_lib_python.client._assemble import Executor, Layer, Target, assemble
from ai_lib_python.client._builder import ChatRequestBuilder
from ai_lib_python.client._context import CallContext, CancelToken, ChatHandler, run_cancellable
from ai_lib_python.client._endpoint import Endpoint, check_model_id
from ai_lib_python.client._stream import ChatStream
from ai_lib_python.errors import ClientClosedError, ConfigurationError
from ai_lib_python.transport import HttpTransport, Timeout, attach_auth, resolve_credential
from ai_lib_python.types import CallStats, ChatRequest, ChatResponse

if TYPE_CHECKING:
    from ai_lib_python.protocol import ProtocolLoader, ProtocolManifest
    from ai_lib_python.resilience import ResilienceConfig, StateBackend
    from ai_lib_python.routing import ModelArray

_default_loader: ProtocolLoader | None = None
_UNSET: Any = object()


def default_loader() -> ProtocolLoader:
    """The process-wide loader (AI_PROTOCOL_PATH, then embedded manifests), parsed once."""
    global _default_loader
    if _default_loader is None:
        from ai_lib_python.protocol import ProtocolLoader

        _default_loader = ProtocolLoader()
    return _default_loader


async def build_endpoint(
    model_id: str,
    *,
    transport: HttpTransport,
    api_key: str | None = None,
    base_url: str | None = None,
    manifest: ProtocolManifest | None = None,
    loader: ProtocolLoader | None = None,
    headers: Mapping[str, str] | None = None,
) -> Endpoint:
    """Resolve a ``provider/model`` id into a ready Endpoint. No network I/O beyond
    fetching a manifest from a configured URL source."""
    provider, model = check_model_id(model_id)
    if manifest is None:
        manifest = await (loader or default_loader()).load_provider(provider)
    url = base_url or manifest.base_url
    if not url or "{" in url:
        raise ConfigurationError(
            f"provider {manifest.id!r} has no fixed base URL",
            hint="pass base_url=... (e.g. http://localhost:8000/v1)",
        )
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"base_url must start with http:// or https://, got {url!r}")
    cred = resolve_credential(manifest, explicit=api_key)
    auth_headers: dict[str, str]
    auth_query: dict[str, str]
    if manifest.auth.type == "none":
        auth_headers = {"Authorization": f"Bearer {cred.secret}"} if cred.secret else {}
        auth_headers.update(manifest.auth.extra_headers)
        auth_query = {}
    else:
        if not cred.secret:
            raise ConfigurationError(cred.diagnostic)
        auth_headers, auth_query = attach_auth(manifest, cred.secret)
    return Endpoint(manifest, model, transport=transport, base_url=url,
                    auth_headers=auth_headers, auth_query=auth_query, headers=headers)


class AiClient:
    """An async client for one ``provider/model``.

    >>> async with await AiClient.create("openai/gpt-4o") as client:   # doctest: +SKIP
    ...     resp = await client.chat().user("2+2?").execute()
    """

    def __init__(self, handler: ChatHandler, endpoint: Endpoint,
                 transport: HttpTransport | None = None,
                 targets: Sequence[Endpoint] = ()) -> None:
        self._handler = handler
        self._endpoint = endpoint
        self._transport = transport or endpoint.transport
        self._targets = tuple(targets) or (endpoint,)
        self._closed = False

    # -- construction -------------------------------------------------------------
    @classmethod
    async def create(
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
        """Create a client for ``"provider/model"`` (e.g. ``"anthropic/claude-sonnet-4"``).

        Calls are retried on retryable errors (rate limits, overloads, lost
        connections; a stream only before its first event), ``max_retries`` times:
        by default ``AI_LIB_MAX_RETRIES``, else the manifest's ``retry_policy``.
        ``max_retries=0`` sends each call once, through nothing but the endpoint.
        Timeouts come from ``timeout``, else the ``AI_LIB_TIMEOUT_*`` variables.

        The API key comes from ``api_key``, else the manifest's env var, else
        ``<PROVIDER>_API_KEY``, else the keyring; a missing key raises
        ConfigurationError naming the variable to set, before any I/O.

        ``"route:<name>"`` names a route registered with
        ``ai_lib_python.routing.register_route``: its members become the targets and a
        RoutingExecutor orders them per call (``executor``, if given, is the
        per-target resilience policy). Members carry their own key and base URL.
        """
        if model.startswith("route:"):
            from ai_lib_python.routing import route_arguments

            if api_key is not None or base_url is not None:
                raise ConfigurationError(
                    "a route's members carry their own api_key and base_url",
                    hint="set them on the Targets of the route's ModelArray")
            route = route_arguments(model, fallbacks=fallbacks, executor=executor)
            model, api_key, base_url = route.model, route.api_key, route.base_url
            headers = route.headers or headers
            fallbacks, executor = route.fallbacks, route.executor
        from ai_lib_python.resilience import ResilienceConfig, ResilientExecutor, RetrySettings

        http = HttpTransport(
            timeout=Timeout.of(timeout) if timeout is not None else (
                ResilienceConfig().transport_timeout()),
            limits=limits, transport=transport, client=http_client,
            max_response_bytes=max_response_bytes,
        )
        try:
            endpoint = await build_endpoint(
                model, transport=http, api_key=api_key, base_url=base_url,
                manifest=manifest, loader=loader, headers=headers)
            targets = [endpoint]
            for fb in fallbacks:
                t = fb if isinstance(fb, Target) else Target(fb)
                targets.append(await build_endpoint(
                    t.model, transport=http, api_key=t.api_key, base_url=t.base_url,
                    loader=loader, headers=t.headers or headers))
            if executor is None and (len(targets) > 1 or max_retries != 0):
                executor = ResilientExecutor(
                    ResilienceConfig(retry=RetrySettings(max_retries=max_retries)))
            handler = assemble(targets, executor=executor, layers=layers)
        except BaseException:
            await http.aclose()
            raise
        return cls(handler, endpoint, http, targets)

    @classmethod
    def builder(cls) -> AiClientBuilder:
        """Configure a client step by step; ``await builder.build()`` returns it."""
        return AiClientBuilder()

    # -- properties ---------------------------------------------------------------
    @property
    def provider(self) -> str:
        """The provider id of the manifest (``openai``)."""
        return self._endpoint.manifest.id

    @property
    def model(self) -> str:
        """The model name, without the provider (``gpt-4o``)."""
        return self._endpoint.model

    @property
    def manifest(self) -> ProtocolManifest:
        """The provider's manifest."""
        return self._endpoint.manifest

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<AiClient {self.provider}/{self.model} {state}>"

    # -- calls --------------------------------------------------------------------
    def chat(self) -> ChatRequestBuilder:
        """Start a chat request for this client's model."""
        self._check_open()
        return ChatRequestBuilder(self, self.model)

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("this AiClient is closed; create a new one")

    def _context(self, cancel: CancelToken | None) -> CallContext:
        return CallContext(CallStats(provider=self.provider, model=self.model), cancel)

    async def execute(self, request: ChatRequest, *,
                      cancel: CancelToken | None = None) -> ChatResponse:
        """Send ``request`` and return the whole response."""
        self._check_open()
        if not isinstance(request, ChatRequest):
            raise ConfigurationError(f"expected a ChatRequest, got {type(request).__name__}")
        ctx = self._context(cancel)
        response: ChatResponse = await run_cancellable(self._handler.execute(request, ctx),
                                                       cancel)
        import time

        ctx.stats.latency_ms = (time.monotonic() - ctx.started) * 1000.0
        response.stats = ctx.stats
        return response

    def stream(self, request: ChatRequest, *, cancel: CancelToken | None = None) -> ChatStream:
        """Stream ``request``; use as ``async with client.stream(req) as s: async for ...``."""
        self._check_open()
        if not isinstance(request, ChatRequest):
            raise ConfigurationError(f"expected a ChatRequest, got {type(request).__name__}")
        ctx = self._context(cancel)
        req = request if request.stream else request.with_(stream=True)
        return ChatStream(lambda: self._handler.stream(req, ctx), ctx)

    # -- lifecycle ----------------------------------------------------------------
    async def close(self) -> None:
        """Close the HTTP client this AiClient created. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._handler.aclose()
        finally:
            await self._transport.aclose()

    async def __aenter__(self) -> AiClient:
        self._check_open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()


class AiClientBuilder:
    """Configure an AiClient step by step; ``await builder.build()``.

    The resilience methods (``with_retry``, ``with_rate_limit``,
    ``with_circuit_breaker``, ``max_inflight``, ``with_fallbacks``,
    ``with_state_backend``, ``production_ready``) build one ResilienceConfig; the
    client then runs its calls through a ``ResilientExecutor``. Values set here win
    over ``AI_LIB_*`` environment variables, which win over the production preset
    and the manifest (see ``ai_lib_python.resilience.ResilienceConfig``).
    """

    def __init__(self) -> None:
        self._model: str | None = None
        self._kwargs: dict[str, Any] = {}
        self._resilience: ResilienceConfig | None = None
        self._fallbacks: list[str | Target] = []
        self._timeouts: dict[str, float | None] = {}
        self._route: str | ModelArray | None = None

    def model(self, model: str) -> AiClientBuilder:
        """The ``provider/model`` id (required, unless routing)."""
        check_model_id(model)
        self._model = model
        return self

    def api_key(self, key: str) -> AiClientBuilder:
        """The API key, instead of the provider's environment variable."""
        self._kwargs["api_key"] = key
        return self

    def base_url(self, url: str) -> AiClientBuilder:
        """Another base URL (a proxy, a local server, the emulator)."""
        self._kwargs["base_url"] = url
        return self

    def timeout(self, timeout: Timeout | float) -> AiClientBuilder:
        """All four timeouts at once (see :meth:`with_timeouts` for each one)."""
        t = Timeout.of(timeout)
        self._timeouts.update(connect=t.connect, first_token=t.first_token, idle=t.idle,
                              total=t.total)
        return self

    def headers(self, headers: Mapping[str, str]) -> AiClientBuilder:
        """Extra HTTP headers for every request."""
        self._kwargs["headers"] = dict(headers)
        return self

    def transport(self, transport: httpx.AsyncBaseTransport) -> AiClientBuilder:
        """An httpx transport (``httpx.MockTransport`` in tests)."""
        self._kwargs["transport"] = transport
        return self

    def limits(self, limits: httpx.Limits) -> AiClientBuilder:
        """Connection pool limits."""
        self._kwargs["limits"] = limits
        return self

    def loader(self, loader: ProtocolLoader) -> AiClientBuilder:
        """The ProtocolLoader that finds manifests."""
        self._kwargs["loader"] = loader
        return self

    def manifest(self, manifest: ProtocolManifest) -> AiClientBuilder:
        """Use this manifest instead of looking one up."""
        self._kwargs["manifest"] = manifest
        return self

    def max_response_bytes(self, limit: int | None) -> AiClientBuilder:
        """Largest response body accepted (ResponseTooLargeError beyond); None: no limit."""
        self._kwargs["max_response_bytes"] = limit
        return self

    # -- resilience ---------------------------------------------------------------
    def _config(self, **changes: Any) -> AiClientBuilder:
        from ai_lib_python.resilience import ResilienceConfig

        base = self._resilience or ResilienceConfig()
        self._resilience = dataclasses.replace(base, **changes)
        return self

    def with_retry(self, max_retries: int | None = None, *, min_delay_ms: int | None = None,
                   max_delay_ms: int | None = None,
                   max_retry_after_ms: int | None = None) -> AiClientBuilder:
        """Retry retryable errors with exponential backoff and full jitter.

        Unset values come from ``AI_LIB_*`` variables, then the manifest's
        ``retry_policy``. ``max_retry_after_ms`` caps a server's Retry-After: a
        longer wait is not retried (the error surfaces with ``retry_after``).
        ``with_retry(0)`` turns retries off.
        """
        from ai_lib_python.resilience import RetrySettings

        return self._config(retry=RetrySettings(
            max_retries=max_retries, min_delay_ms=min_delay_ms, max_delay_ms=max_delay_ms,
            max_retry_after_ms=max_retry_after_ms))

    def with_rate_limit(self, requests_per_second: float | None = None, *,
                        burst: int | None = None, tokens_per_minute: int | None = None,
                        max_wait_s: float | None = None,
                        adapt_to_headers: bool = True) -> AiClientBuilder:
        """A token bucket per target (and a tokens-per-minute budget charged with each
        response's usage), paused by the provider's rate-limit headers and 429s.
        A wait longer than ``max_wait_s`` (default 30) raises RateLimitedError."""
        from ai_lib_python.resilience import RateLimitSettings

        return self._config(rate_limit=RateLimitSettings(
            requests_per_second=requests_per_second, burst=burst,
            tokens_per_minute=tokens_per_minute, max_wait_s=max_wait_s,
            adapt_to_headers=adapt_to_headers))

    def with_circuit_breaker(self, failure_threshold: int | None = None, *,
                             recovery_s: float | None = None,
                             half_open_probes: int | None = None,
                             success_threshold: int | None = None) -> AiClientBuilder:
        """A breaker per target: ``failure_threshold`` (default 5) consecutive server
        failures open it for ``recovery_s`` (default 30); then ``half_open_probes``
        (default 1) probes decide. While open, calls fail fast with CircuitOpenError."""
        from ai_lib_python.resilience import BreakerSettings

        return self._config(circuit_breaker=BreakerSettings(
            failure_threshold=failure_threshold, recovery_s=recovery_s,
            half_open_probes=half_open_probes, success_threshold=success_threshold))

    def max_inflight(self, n: int, *, queue_timeout: float | None = None) -> AiClientBuilder:
        """At most ``n`` calls at once (a stream holds its slot until closed); a call
        waits at most ``queue_timeout`` seconds (default 30), then BackpressureError."""
        from ai_lib_python.resilience import BackpressureSettings

        return self._config(backpressure=BackpressureSettings(
            max_inflight=n, queue_timeout_s=queue_timeout))

    def with_fallbacks(self, targets: Sequence[str | Target]) -> AiClientBuilder:
        """Models (``provider/model`` ids or Target) tried in order after the primary
        one fails with a fallbackable error."""
        for target in targets:
            check_model_id(target.model if isinstance(target, Target) else target)
        self._fallbacks = list(targets)
        return self

    def with_timeouts(self, *, connect: float | object | None = _UNSET,
                      first_token: float | object | None = _UNSET,
                      idle: float | object | None = _UNSET,
                      total: float | object | None = _UNSET) -> AiClientBuilder:
        """Set some of the four timeouts (seconds; ``None`` disables one): ``connect``,
        ``first_token`` (until the first body bytes), ``idle`` (between chunks),
        ``total`` (the whole HTTP exchange). Each raises its own TransportError."""
        given = {"connect": connect, "first_token": first_token, "idle": idle,
                 "total": total}
        for name, value in given.items():
            if value is _UNSET:
                continue
            if value is not None and not isinstance(value, (int, float)):
                raise ConfigurationError(f"timeout {name} must be seconds or None")
            self._timeouts[name] = None if value is None else float(value)
        return self

    def with_state_backend(self, backend: StateBackend) -> AiClientBuilder:
        """Where breakers and rate-limit buckets live: ``MemoryBackend()`` (this
        process, the default) or ``RedisBackend(url)`` (shared between processes)."""
        return self._config(state_backend=backend)

    def production_ready(self) -> AiClientBuilder:
        """Turn on the production preset, under anything set in code or in ``AI_LIB_*``:

        - retry: the manifest's ``retry_policy`` (else 3 retries, 1 s to 30 s, full
          jitter), honouring Retry-After up to the policy's ``max_delay_ms``;
        - circuit breaker per target: 5 consecutive failures open it for 30 s, then
          1 probe;
        - rate limiter: paused by the provider's rate-limit headers and 429s, wait at
          most 30 s (no local requests-per-second unless ``with_rate_limit`` sets one);
        - backpressure: 64 calls in flight, 30 s queue timeout;
        - timeouts: connect 10 s, first token 60 s, idle 60 s, total 600 s.
        """
        return self._config(production=True)

    def with_cache(self, backend: Any = None, *, ttl: float | None = 3600.0) -> AiClientBuilder:
        """Answer repeated requests from a response cache (``ai_lib_python.cache``).

        ``backend`` is a cache backend (``MemoryCache()``, the default; ``DiskCache(path)``;
        ``RedisCache(url)``) or a ready ``ResponseCache``; ``ttl`` is in seconds."""
        from ai_lib_python.cache import ResponseCache

        layer = backend if isinstance(backend, ResponseCache) else ResponseCache(backend, ttl=ttl)
        self._kwargs["layers"] = [*self._kwargs.get("layers", ()), layer]
        return self

    def with_routing(self, route: str | ModelArray) -> AiClientBuilder:
        """Route calls over a ModelArray, or a route registered under a name; replaces
        ``.model(...)``. Resilience settings of this builder apply to every member."""
        from ai_lib_python.routing import ModelArray

        if not isinstance(route, (str, ModelArray)):
            raise ConfigurationError("with_routing takes a ModelArray or a route name")
        self._route = route.removeprefix("route:") if isinstance(route, str) else route
        return self

    def with_telemetry(self, telemetry: Layer) -> AiClientBuilder:
        """Record every call (``ai_lib_python.telemetry.Telemetry``: metrics, traces,
        logs) or add any other layer of the same kind."""
        if not isinstance(telemetry, Layer):
            raise ConfigurationError("with_telemetry takes a Layer, e.g. telemetry.Telemetry")
        self._kwargs["layers"] = [*self._kwargs.get("layers", ()), telemetry]
        return self

    def with_plugins(self, *plugins: Any, discover: bool = False) -> AiClientBuilder:
        """Run plugins around every call (``ai_lib_python.plugins``): Plugin instances
        or a PluginRegistry, in the order given; ``discover=True`` also loads those
        installed packages declare in the ``ai_lib_python.plugins`` entry points."""
        from ai_lib_python.plugins import PluginLayer, PluginRegistry

        registry = PluginRegistry()
        for item in plugins:
            for plugin in (item if isinstance(item, PluginRegistry) else (item,)):
                registry.register(plugin)
        if discover:
            registry.discover()
        self._kwargs["layers"] = [*self._kwargs.get("layers", ()), PluginLayer(registry)]
        return self

    def with_guardrails(self, guardrails: Any = None, *, input: Sequence[Any] = (),
                        output: Sequence[Any] = ()) -> AiClientBuilder:
        """Guard the input and the output of every call (``ai_lib_python.guardrails``):
        a ready ``Guardrails``, or its ``input=[...]`` and ``output=[...]`` guards."""
        from ai_lib_python.guardrails import Guardrails

        if guardrails is None:
            guardrails = Guardrails(input=input, output=output)
        elif not isinstance(guardrails, Guardrails) or input or output:
            raise ConfigurationError(
                "with_guardrails takes a Guardrails, or input=[...] and output=[...] guards")
        self._kwargs["layers"] = [*self._kwargs.get("layers", ()), guardrails]
        return self

    async def build(self) -> AiClient:
        """Create the client."""
        if self._model is None and self._route is None:
            raise ConfigurationError("AiClient.builder() needs .model('provider/model')")
        kwargs = dict(self._kwargs)
        if self._resilience is not None or self._fallbacks:
            from ai_lib_python.resilience import ResilienceConfig, ResilientExecutor

            config = self._resilience or ResilienceConfig()
            if self._timeouts:
                config = dataclasses.replace(config, timeouts=dict(self._timeouts))
            kwargs["timeout"] = config.transport_timeout()
            kwargs["executor"] = ResilientExecutor(config)
            kwargs["fallbacks"] = list(self._fallbacks)
        elif self._timeouts:
            kwargs["timeout"] = dataclasses.replace(Timeout(), **self._timeouts)
        if isinstance(self._route, str):
            return await AiClient.create(f"route:{self._route}", **kwargs)
        if self._route is not None:
            from ai_lib_python.routing import route_arguments

            route = route_arguments(self._route, fallbacks=kwargs.pop("fallbacks", ()),
                                    executor=kwargs.pop("executor", None))
            kwargs.update(api_key=route.api_key, base_url=route.base_url,
                          fallbacks=route.fallbacks, executor=route.executor,
                          headers=route.headers or kwargs.get("headers"))
            return await AiClient.create(route.model, **kwargs)
        assert self._model is not None
        return await AiClient.create(self._model, **kwargs)
