"""AiClient: the entry point. One client talks to one provider/model through one
execution path; it owns its HTTP client and closes only what it created."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx

from ai_lib_python.client._assemble import Executor, Layer, Target, assemble
from ai_lib_python.client._builder import ChatRequestBuilder
from ai_lib_python.client._context import CallContext, CancelToken, ChatHandler, run_cancellable
from ai_lib_python.client._endpoint import Endpoint, check_model_id
from ai_lib_python.client._stream import ChatStream
from ai_lib_python.errors import ClientClosedError, ConfigurationError
from ai_lib_python.protocol import ProtocolLoader, ProtocolManifest
from ai_lib_python.transport import HttpTransport, Timeout, attach_auth, resolve_credential
from ai_lib_python.types import CallStats, ChatRequest, ChatResponse

_default_loader: ProtocolLoader | None = None


def default_loader() -> ProtocolLoader:
    """The process-wide loader (AI_PROTOCOL_PATH, then embedded manifests), parsed once."""
    global _default_loader
    if _default_loader is None:
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
    if manifest.auth.type == "none":
        auth_headers, auth_query = ({"Authorization": f"Bearer {cred.secret}"}, {}) if (
            cred.secret) else ({}, {})
        auth_headers.update(manifest.auth.extra_headers)
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
    ) -> AiClient:
        """Create a client for ``"provider/model"`` (e.g. ``"anthropic/claude-sonnet-4"``).

        The API key comes from ``api_key``, else the manifest's env var, else
        ``<PROVIDER>_API_KEY``, else the keyring; a missing key raises
        ConfigurationError naming the variable to set, before any I/O.
        """
        http = HttpTransport(
            timeout=Timeout.of(timeout) if timeout is not None else None,
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
            if len(targets) > 1 and executor is None:
                from ai_lib_python.resilience import ResilientExecutor

                executor = ResilientExecutor()
            handler = assemble(targets, executor=executor, layers=layers)
        except BaseException:
            await http.aclose()
            raise
        return cls(handler, endpoint, http, targets)

    @classmethod
    def builder(cls) -> AiClientBuilder:
        return AiClientBuilder()

    # -- properties ---------------------------------------------------------------
    @property
    def provider(self) -> str:
        return self._endpoint.manifest.id

    @property
    def model(self) -> str:
        return self._endpoint.model

    @property
    def manifest(self) -> ProtocolManifest:
        return self._endpoint.manifest

    @property
    def closed(self) -> bool:
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
    """Configure an AiClient step by step; ``await builder.build()``."""

    def __init__(self) -> None:
        self._model: str | None = None
        self._kwargs: dict[str, Any] = {}

    def model(self, model: str) -> AiClientBuilder:
        check_model_id(model)
        self._model = model
        return self

    def api_key(self, key: str) -> AiClientBuilder:
        self._kwargs["api_key"] = key
        return self

    def base_url(self, url: str) -> AiClientBuilder:
        self._kwargs["base_url"] = url
        return self

    def timeout(self, timeout: Timeout | float) -> AiClientBuilder:
        self._kwargs["timeout"] = timeout
        return self

    def headers(self, headers: Mapping[str, str]) -> AiClientBuilder:
        self._kwargs["headers"] = dict(headers)
        return self

    def transport(self, transport: httpx.AsyncBaseTransport) -> AiClientBuilder:
        self._kwargs["transport"] = transport
        return self

    def limits(self, limits: httpx.Limits) -> AiClientBuilder:
        self._kwargs["limits"] = limits
        return self

    def loader(self, loader: ProtocolLoader) -> AiClientBuilder:
        self._kwargs["loader"] = loader
        return self

    def manifest(self, manifest: ProtocolManifest) -> AiClientBuilder:
        self._kwargs["manifest"] = manifest
        return self

    async def build(self) -> AiClient:
        if self._model is None:
            raise ConfigurationError("AiClient.builder() needs .model('provider/model')")
        return await AiClient.create(self._model, **self._kwargs)
