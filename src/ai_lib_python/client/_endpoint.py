"""The innermost handler: one provider endpoint (manifest + model + base URL + credential).

It encodes the request with the manifest's wire codec, sends it through the
transport and decodes the answer: the whole response for ``execute``, the stream
pipeline for ``stream``. Every other layer wraps this one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from ai_lib_python._json import dumps, loads
from ai_lib_python._version import __version__
from ai_lib_python.client._context import (
    MAX_BATCH,
    CallContext,
    EventBatch,
    stamp_first_token,
)
from ai_lib_python.errors import (
    AiLibError,
    ConfigurationError,
    ProviderError,
    ResponseTooLargeError,
    StreamDecodeError,
    provider_error,
)
from ai_lib_python.transport import HttpResponse, HttpTransport, Timeout
from ai_lib_python.types import (
    ChatRequest,
    ChatResponse,
    StreamError,
)

if TYPE_CHECKING:
    from ai_lib_python.protocol import ProtocolManifest

USER_AGENT = f"ai-lib-python/{__version__}"
RESPONSE_HEADERS = "http.response_headers"
"""``CallContext.attributes`` key: the headers of the latest HTTP response (rate limits)."""


class Endpoint:
    """Talks to one provider endpoint for one model."""

    def __init__(
        self,
        manifest: ProtocolManifest,
        model: str,
        *,
        transport: HttpTransport,
        base_url: str,
        auth_headers: Mapping[str, str],
        auth_query: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.manifest = manifest
        self.model = model
        self.transport = transport
        self.base_url = base_url.rstrip("/")
        self._auth_query = dict(auth_query)
        self._headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **auth_headers,
            **(headers or {}),
        }
        # Imported here, not at module level: `from ai_lib_python import AiClient` stays
        # light, and a client that exists has already paid for its manifest.
        from ai_lib_python.pipeline import StreamPlan
        from ai_lib_python.wire import decode_response, encode_request

        self._encode = encode_request
        self._decode = decode_response
        self.plan = StreamPlan.for_manifest(manifest)
        self.name = f"{manifest.id}/{model}"

    # -- shared -------------------------------------------------------------------
    def _prepare(self, request: ChatRequest) -> tuple[str, dict[str, str], dict[str, str],
                                                      bytes]:
        if request.model != self.model:
            request = request.with_(model=self.model)
        spec = self._encode(self.manifest, request)
        path = spec.path
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        headers = self._headers
        if spec.stream:
            headers = {**headers, "accept": "text/event-stream"}
        if spec.headers:
            headers = {**headers, **spec.headers}
        query = {**spec.query, **self._auth_query} if self._auth_query else spec.query
        return url, headers, query, dumps(spec.body)

    def _timeout(self, request: ChatRequest) -> Timeout | None:
        return Timeout.of(request.timeout) if request.timeout is not None else None

    async def _raise_for_status(self, resp: HttpResponse, ctx: CallContext) -> None:
        ctx.stats.status = resp.status
        ctx.attributes[RESPONSE_HEADERS] = resp.headers
        rid = resp.headers.get("x-request-id") or resp.headers.get("request-id")
        if rid:
            ctx.stats.request_id = rid
        if resp.status < 400:
            return
        data = await resp.read(1024 * 1024)
        try:
            body: Any = loads(data) if data else None
        except ValueError:
            body = data.decode("utf-8", "replace")
        raise provider_error(
            status=resp.status, body=body, headers=dict(resp.headers),
            provider=self.manifest.id, model=self.model,
            by_error_code=self.manifest.error_by_code,
            by_http_status=self.manifest.error_by_status,
        )

    def _stamp(self, ctx: CallContext, streamed: bool) -> None:
        stats = ctx.stats
        stats.provider = self.manifest.id
        stats.model = self.model
        stats.streamed = streamed
        stats.target = self.name

    # -- execute ------------------------------------------------------------------
    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        if request.stream:
            request = request.with_(stream=False)
        url, headers, query, body = self._prepare(request)
        self._stamp(ctx, False)
        async with self.transport.open("POST", url, headers=headers, params=query,
                                       content=body, timeout=self._timeout(request)) as resp:
            await self._raise_for_status(resp, ctx)
            data = await resp.read(self.transport.max_response_bytes)
        try:
            parsed = loads(data)
        except ValueError as exc:
            raise StreamDecodeError(
                f"{self.manifest.id} returned a body that is not JSON ({exc}): "
                f"{data[:200].decode('utf-8', 'replace')!r}") from None
        if isinstance(parsed, dict) and "error" in parsed and not any(
            k in parsed for k in ("choices", "candidates", "content", "message")
        ):
            raise provider_error(status=ctx.stats.status, body=parsed,
                                 provider=self.manifest.id, model=self.model,
                                 by_error_code=self.manifest.error_by_code,
                                 by_http_status=self.manifest.error_by_status)
        response = self._decode(self.manifest, parsed)
        response.stats = ctx.stats
        if ctx.stats.request_id is None:
            ctx.stats.request_id = response.id
        return response

    # -- stream -------------------------------------------------------------------
    async def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[EventBatch]:
        if not request.stream:
            request = request.with_(stream=True)
        url, headers, query, body = self._prepare(request)
        self._stamp(ctx, True)
        async with self.transport.open("POST", url, headers=headers, params=query,
                                       content=body, timeout=self._timeout(request)) as resp:
            await self._raise_for_status(resp, ctx)
            ctype = resp.headers.get("content-type", "")
            fmt = None
            if ctype.startswith("application/json"):
                fmt = "json_array"
            elif "ndjson" in ctype or "jsonl" in ctype:
                fmt = "json_lines"
            state = self.plan.new_stream(decoder_format=fmt)
            ctx.response_factory = state.response
            limit = self.transport.max_response_bytes
            stamped = False
            step = state.step
            batch: EventBatch = []
            async for chunk in resp.chunks():
                if limit is not None and resp.received_bytes > limit:
                    raise ResponseTooLargeError(
                        f"stream larger than the limit of {limit} bytes", limit=limit)
                # One frame at a time: parse and map it, then the next. A read holding
                # hundreds of frames never has them all parsed at once (which would
                # also wake the garbage collector again and again); its events travel
                # up the layers as one batch, or several of about MAX_BATCH.
                for item in state.split(chunk):
                    step(item, batch)
                    if state.error is not None:  # the in-stream error is the last event
                        cut = next(i for i, e in enumerate(batch) if type(e) is StreamError)
                        del batch[cut + 1:]
                        break
                    if len(batch) >= MAX_BATCH:
                        stamped = stamped or stamp_first_token(batch, ctx)
                        yield batch
                        batch = []
                if batch:
                    stamped = stamped or stamp_first_token(batch, ctx)
                    yield batch
                    batch = []
                if state.error is not None:
                    raise state.error
            try:
                tail = state.finish()
            except StreamDecodeError:
                if state.error is not None:
                    raise state.error from None
                raise
            if tail:
                stamped = stamped or stamp_first_token(tail, ctx)
                yield tail
            if state.error is not None:
                raise state.error
        if ctx.stats.request_id is None:
            ctx.stats.request_id = state.response_id

    # -- other operations -----------------------------------------------------------
    async def post_json(self, op: str, body: Any, ctx: CallContext, *,
                        timeout: Timeout | None = None) -> Any:
        """POST ``body`` to the manifest's endpoint for operation ``op`` (``embeddings``
        ...) with this endpoint's URL, credential and error handling; return the JSON."""
        spec = self.manifest.endpoint(op)
        if spec is None:
            raise ConfigurationError(
                f"provider {self.manifest.id!r} declares no {op!r} endpoint",
                hint=f"add endpoints.{op} to the manifest")
        path = spec.path.replace("{model}", self.model)
        query: dict[str, str] = {}
        if "?" in path:
            path, _, qs = path.partition("?")
            query = {k: v for k, _, v in (p.partition("=") for p in qs.split("&")) if k}
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        ctx.stats.provider = self.manifest.id
        ctx.stats.model = self.model
        ctx.stats.target = self.name
        async with self.transport.open(spec.method, url, headers=self._headers,
                                       params={**query, **self._auth_query},
                                       content=dumps(body), timeout=timeout) as resp:
            await self._raise_for_status(resp, ctx)
            data = await resp.read(self.transport.max_response_bytes)
        try:
            return loads(data)
        except ValueError as exc:
            raise StreamDecodeError(
                f"{self.manifest.id} returned a body that is not JSON ({exc})") from None

    async def aclose(self) -> None:
        """Endpoints share their client's transport, which the client closes."""


def check_model_id(model: str) -> tuple[str, str]:
    """Split ``provider/model``; the model part may itself contain slashes."""
    if not isinstance(model, str) or "/" not in model:
        raise ConfigurationError(
            f"model id {model!r} must be 'provider/model', e.g. 'openai/gpt-4o'")
    provider, _, name = model.partition("/")
    if not provider or not name:
        raise ConfigurationError(
            f"model id {model!r} must be 'provider/model', e.g. 'openai/gpt-4o'")
    return provider, name


__all__ = ["AiLibError", "Endpoint", "ProviderError", "check_model_id"]
