"""EmbeddingClient: vectors from a provider's embeddings endpoint, in batches.

It is built like AiClient: the same manifest loading, credential resolution, base URL
and HTTP transport (:func:`ai_lib_python.client.build_endpoint`), then it posts to the
manifest's ``embeddings`` endpoint in the provider's format.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from ai_lib_python.batch._collector import BatchCollector
from ai_lib_python.client import CallContext, CancelToken, Endpoint, build_endpoint
from ai_lib_python.client._context import run_cancellable
from ai_lib_python.embeddings._formats import EmbeddingFormat, check_input_type, format_for
from ai_lib_python.errors import ClientClosedError, ConfigurationError, StreamDecodeError
from ai_lib_python.protocol import ProtocolLoader, ProtocolManifest
from ai_lib_python.tokens import TokenCounter
from ai_lib_python.transport import HttpTransport, Timeout
from ai_lib_python.types import CallStats, Usage

if TYPE_CHECKING:
    from ai_lib_python.routing import ModelManager


@dataclass(slots=True)
class EmbeddingResult:
    """Vectors in input order, with usage and stats (``extra``: ``batches``,
    ``cost_usd``, ``usage_estimated`` when the provider reports no usage)."""

    vectors: list[list[float]]
    model: str
    usage: Usage
    stats: CallStats = field(default_factory=CallStats)

    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def dimensions(self) -> int:
        return len(self.vectors[0]) if self.vectors else 0


class EmbeddingClient:
    """Embeds texts with one ``provider/model``.

    >>> async with await EmbeddingClient.create("openai/text-embedding-3-small") as emb:
    ...     result = await emb.embed(["first text", "second text"])   # doctest: +SKIP
    ...     result.vectors, result.usage.prompt_tokens, result.stats.extra["cost_usd"]

    Inputs larger than a provider request are split into batches (by count and by
    estimated tokens), sent ``max_concurrency`` at a time, and put back in order.
    """

    def __init__(self, endpoint: Endpoint, transport: HttpTransport, *,
                 fmt: EmbeddingFormat, batch_size: int | None = None,
                 max_batch_tokens: int | None = None, max_concurrency: int = 4,
                 dimensions: int | None = None, models: ModelManager | None = None) -> None:
        if max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be at least 1")
        self._endpoint = endpoint
        self._transport = transport
        self.format = fmt
        self.batch_size = min(batch_size or fmt.max_batch, fmt.max_batch)
        self.max_batch_tokens = max_batch_tokens or fmt.max_tokens
        self.max_concurrency = max_concurrency
        self.dimensions = dimensions
        self._models = models
        self._counter = TokenCounter(f"{endpoint.manifest.id}/{endpoint.model}")
        self._closed = False

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
        format: str | None = None,
        batch_size: int | None = None,
        max_batch_tokens: int | None = None,
        max_concurrency: int = 4,
        dimensions: int | None = None,
        models: ModelManager | None = None,
    ) -> EmbeddingClient:
        """Create a client for ``"provider/model"`` (e.g. ``"openai/text-embedding-3-small"``).

        The key and base URL resolve as for :meth:`AiClient.create`. ``format`` forces
        an embedding format (``openai``, ``jina``, ``mistral``, ``gemini``, ``cohere``);
        by default the provider's is used. ``models`` prices the calls (default: the
        shipped model registry).
        """
        http = HttpTransport(timeout=Timeout.of(timeout) if timeout is not None else None,
                             transport=transport, client=http_client)
        try:
            endpoint = await build_endpoint(model, transport=http, api_key=api_key,
                                            base_url=base_url, manifest=manifest,
                                            loader=loader, headers=headers)
            if endpoint.manifest.endpoint("embeddings") is None:
                raise ConfigurationError(
                    f"provider {endpoint.manifest.id!r} has no embeddings endpoint",
                    hint="use a provider whose manifest declares endpoints.embeddings")
            fmt = format_for(endpoint.manifest, format)
            return cls(endpoint, http, fmt=fmt, batch_size=batch_size,
                       max_batch_tokens=max_batch_tokens, max_concurrency=max_concurrency,
                       dimensions=dimensions, models=models)
        except BaseException:
            await http.aclose()
            raise

    @property
    def provider(self) -> str:
        return self._endpoint.manifest.id

    @property
    def model(self) -> str:
        return self._endpoint.model

    def __repr__(self) -> str:
        return (f"<EmbeddingClient {self.provider}/{self.model} "
                f"{'closed' if self._closed else 'open'}>")

    # -- batching -------------------------------------------------------------------
    def plan_batches(self, texts: Sequence[str]) -> list[tuple[int, int]]:
        """``(start, end)`` slices of ``texts``: at most ``batch_size`` items and, when the
        format has a token limit, at most ``max_batch_tokens`` estimated tokens each."""
        out: list[tuple[int, int]] = []
        start = 0
        tokens = 0
        limit = self.max_batch_tokens
        for i, text in enumerate(texts):
            cost = self._counter.count(text) if limit is not None else 0
            if i > start and (i - start >= self.batch_size
                              or (limit is not None and tokens + cost > limit)):
                out.append((start, i))
                start, tokens = i, 0
            tokens += cost
        if start < len(texts):
            out.append((start, len(texts)))
        return out

    # -- calls ----------------------------------------------------------------------
    async def embed(self, texts: Sequence[str] | str, *, input_type: str | None = None,
                    dimensions: int | None = None,
                    cancel: CancelToken | None = None) -> EmbeddingResult:
        """Embed ``texts`` (one string or many); vectors come back in input order.

        ``input_type`` is ``query``, ``document``, ``classification`` or ``clustering``
        (for providers that tune vectors to it); ``dimensions`` asks for shorter vectors
        where the model supports it.
        """
        if self._closed:
            raise ClientClosedError("this EmbeddingClient is closed; create a new one")
        items = [texts] if isinstance(texts, str) else list(texts)
        if not all(isinstance(t, str) for t in items):
            raise ConfigurationError("embed() takes a string or a sequence of strings")
        check_input_type(input_type)
        dims = dimensions if dimensions is not None else self.dimensions
        stats = CallStats(provider=self.provider, model=self.model)
        started = time.monotonic()
        batches = self.plan_batches(items)
        gate = asyncio.Semaphore(self.max_concurrency)

        async def one(start: int, end: int) -> tuple[list[list[float]], int | None]:
            async with gate:
                ctx = CallContext(CallStats(), cancel)
                body = self.format.encode(self.model, items[start:end], input_type, dims)
                data = await self._endpoint.post_json("embeddings", body, ctx)
                if ctx.stats.request_id and stats.request_id is None:
                    stats.request_id = ctx.stats.request_id
            vectors, tokens = self.format.decode(data)
            if len(vectors) != end - start:
                raise StreamDecodeError(
                    f"{self.provider} returned {len(vectors)} embeddings for "
                    f"{end - start} inputs")
            return vectors, tokens

        tasks = [asyncio.ensure_future(one(s, e)) for s, e in batches]
        try:
            parts = await run_cancellable(asyncio.gather(*tasks), cancel)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        vectors: list[list[float]] = []
        prompt = 0
        estimated = False
        for (start, end), (part, tokens) in zip(batches, parts, strict=True):
            vectors.extend(part)
            if tokens is None:
                estimated = True
                tokens = sum(self._counter.count(t) for t in items[start:end])
            prompt += tokens
        usage = Usage(prompt, 0, prompt)
        stats.latency_ms = (time.monotonic() - started) * 1000.0
        stats.attempts = len(batches)
        stats.extra["batches"] = len(batches)
        if estimated:
            stats.extra["usage_estimated"] = True
        stats.extra["cost_usd"] = self._cost(usage)
        return EmbeddingResult(vectors, self.model, usage, stats)

    async def embed_one(self, text: str, *, input_type: str | None = None,
                        dimensions: int | None = None) -> list[float]:
        """The vector of one text."""
        result = await self.embed([text], input_type=input_type, dimensions=dimensions)
        return result.vectors[0]

    def collector(self, *, max_size: int | None = None, max_wait: float = 0.02,
                  input_type: str | None = None) -> BatchCollector[str, list[float]]:
        """A :class:`BatchCollector` that embeds texts submitted one by one from many
        tasks in shared requests: ``vector = await collector.submit(text)``."""

        async def handle(texts: list[str]) -> list[list[float]]:
            return (await self.embed(texts, input_type=input_type)).vectors

        return BatchCollector(handle, max_size=max_size or self.batch_size, max_wait=max_wait)

    def _cost(self, usage: Usage) -> float | None:
        models = self._models
        if models is None:
            from ai_lib_python.routing import ModelManager

            models = self._models = ModelManager.default()
        spec = models.get(f"{self.provider}/{self.model}")
        if spec is None or spec.input_per_token is None:
            return None
        return usage.prompt_tokens * spec.input_per_token  # embeddings have no output

    # -- lifecycle ------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._transport.aclose()

    async def __aenter__(self) -> EmbeddingClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()
