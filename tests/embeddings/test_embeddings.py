"""EmbeddingClient end to end against the emulator in five formats, and vector maths."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ai_lib_python import ConfigurationError, ProviderError
from ai_lib_python.embeddings import (
    HAS_NUMPY,
    EmbeddingClient,
    cosine,
    dot,
    euclidean,
    normalize,
    top_k,
)
from ai_lib_python.protocol import ProtocolLoader
from ai_lib_python.routing import ModelManager
from ai_lib_python.testing import ProviderEmulator

KEY = "sk-test-embed"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "ai_protocol"
TEXTS = [f"text number {i} about {'cats' if i % 2 else 'dogs'}" for i in range(7)]


@pytest.fixture
async def emu() -> AsyncIterator[ProviderEmulator]:
    async with ProviderEmulator(require_key=KEY, embedding_dimensions=8) as e:
        yield e


async def make(emu: ProviderEmulator, provider: str, **kw: Any) -> EmbeddingClient:
    model = {"openai": "openai/text-embedding-3-small", "gemini": "gemini/gemini-embedding-001",
             "cohere": "cohere/embed-v4.0", "mistral": "mistral/mistral-embed",
             "jina": "jina/jina-embeddings-v3"}[provider]
    base = {"openai": emu.url_for("openai"), "mistral": emu.url_for("mistral"),
            "gemini": emu.url_for("gemini"), "cohere": emu.base_url, "jina": emu.base_url}
    if provider == "jina":  # not embedded: the reference manifest, as AI_PROTOCOL_PATH gives it
        kw["loader"] = ProtocolLoader(paths=[FIXTURES], env={})
    return await EmbeddingClient.create(model, base_url=base[provider], api_key=KEY, **kw)


FORMATS = ["openai", "gemini", "cohere", "mistral", "jina"]


@pytest.mark.parametrize("provider", FORMATS)
async def test_each_format_round_trips_in_order(emu: ProviderEmulator, provider: str) -> None:
    async with await make(emu, provider) as emb:
        result = await emb.embed(TEXTS, input_type="query", dimensions=8)
        one = await emb.embed_one(TEXTS[3])
    assert len(result) == 7 and result.dimensions == 8
    assert result.vectors[3] == pytest.approx(one)
    assert result.usage.prompt_tokens > 0 and result.stats.extra["batches"] == 1
    body = emu.requests[0].json
    if provider == "gemini":
        assert emu.requests[0].path.endswith("/models/gemini-embedding-001:batchEmbedContents")
        item = body["requests"][0]
        assert item["model"] == "models/gemini-embedding-001"
        assert item["content"] == {"parts": [{"text": TEXTS[0]}]}
        assert item["taskType"] == "RETRIEVAL_QUERY" and item["outputDimensionality"] == 8
        assert result.stats.extra["usage_estimated"] is True
    elif provider == "cohere":
        assert emu.requests[0].path == "/v2/embed"
        assert body["texts"] == TEXTS and body["input_type"] == "search_query"
        assert body["embedding_types"] == ["float"] and body["output_dimension"] == 8
    else:
        assert emu.requests[0].path.endswith("/embeddings") and body["input"] == TEXTS
        dims = {"mistral": "output_dimension"}.get(provider, "dimensions")
        assert body[dims] == 8
        assert body.get("task") == ("retrieval.query" if provider == "jina" else None)
    assert emu.requests[0].auth in ("bearer", "x-goog-api-key")


async def test_the_same_text_gets_the_same_vector_in_every_format(emu: ProviderEmulator) -> None:
    vectors = []
    for provider in FORMATS:
        async with await make(emu, provider) as emb:
            vectors.append(await emb.embed_one("hello"))
    for v in vectors[1:]:
        assert v == pytest.approx(vectors[0])


class _Counting(httpx.AsyncBaseTransport):
    """Loopback HTTP, counting the requests in flight (with a little latency)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.inflight = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.inflight += 1
        self.peak = max(self.peak, self.inflight)
        try:
            await asyncio.sleep(0.01)
            return await self.inner.handle_async_request(request)
        finally:
            self.inflight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_large_inputs_split_into_batches_with_bounded_concurrency(
        emu: ProviderEmulator) -> None:
    texts = [f"item {i}" for i in range(250)]
    transport = _Counting()
    mm = ModelManager()
    mm.register("openai/text-embedding-3-small", input_per_million=0.02)
    async with await make(emu, "openai", transport=transport, batch_size=20,
                          max_concurrency=3, models=mm) as emb:
        result = await emb.embed(texts)
        assert emb.plan_batches(texts)[:2] == [(0, 20), (20, 40)]
    assert len(emu.requests) == 13 and result.stats.extra["batches"] == 13
    assert transport.peak == 3
    assert sorted(len(r.json["input"]) for r in emu.requests)[0] == 10
    async with await make(emu, "openai") as emb:
        for i in (0, 137, 249):
            assert result.vectors[i] == pytest.approx(await emb.embed_one(texts[i]))
    reported = sum(r.response.status == 200 for r in emu.requests)
    assert reported == len(emu.requests)
    assert result.stats.extra["cost_usd"] == pytest.approx(result.usage.prompt_tokens * 2e-8)


async def test_a_token_budget_also_splits(emu: ProviderEmulator) -> None:
    async with await make(emu, "mistral", max_batch_tokens=30) as emb:
        long = ["word " * 12] * 5  # about 12 tokens each
        assert emb.plan_batches(long) == [(0, 2), (2, 4), (4, 5)]
        result = await emb.embed(long)
    assert len(result) == 5 and len(emu.requests) == 3


async def test_collector_groups_single_texts_into_one_request(emu: ProviderEmulator) -> None:
    async with await make(emu, "cohere") as emb:
        collector = emb.collector(max_wait=0.05)
        vectors = await asyncio.gather(*(collector.submit(t) for t in TEXTS))
        await collector.aclose()
        direct = await emb.embed(TEXTS)
    assert len(emu.requests) == 2 and collector.batches == 1
    assert [pytest.approx(v) for v in direct.vectors] == vectors


async def test_errors_and_missing_endpoints(emu: ProviderEmulator) -> None:
    emb = await EmbeddingClient.create("openai/text-embedding-3-small",
                                       base_url=emu.url_for("openai"), api_key="sk-wrong")
    async with emb:
        with pytest.raises(ProviderError) as info:
            await emb.embed(["x"])
    assert info.value.code == "E1002" and emb.closed
    with pytest.raises(ConfigurationError, match="no embeddings endpoint"):
        await EmbeddingClient.create("anthropic/claude-sonnet-4-5", api_key=KEY,
                                     base_url=emu.url_for("anthropic"))
    async with await make(emu, "openai") as emb:
        with pytest.raises(ConfigurationError):
            await emb.embed(["x"], input_type="poetry")


# -- vector operations -----------------------------------------------------------------
def _rows(n: int, dims: int, seed: int) -> list[list[float]]:
    rnd = random.Random(seed)
    return [[rnd.uniform(-1, 1) for _ in range(dims)] for _ in range(n)]


def test_vector_operations_in_pure_python() -> None:
    a, b = [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]
    assert dot(a, b, numpy=False) == 0.0 and cosine(a, a, numpy=False) == pytest.approx(1.0)
    assert euclidean(a, b, numpy=False) == pytest.approx(5 ** 0.5)
    assert normalize([3.0, 4.0], numpy=False) == pytest.approx([0.6, 0.8])
    assert normalize([0.0, 0.0], numpy=False) == [0.0, 0.0]
    assert cosine([0.0, 0.0], a[:2], numpy=False) == 0.0
    m = [[1.0, 0.0], [0.7, 0.7], [0.0, 1.0], [-1.0, 0.0]]
    assert [i for i, _ in top_k([1.0, 0.1], m, 2, numpy=False)] == [0, 1]
    assert top_k([1.0, 0.0], m, 1, metric="euclidean", numpy=False) == [(0, 0.0)]
    with pytest.raises(ValueError):
        dot([1.0], [1.0, 2.0])


@pytest.mark.skipif(not HAS_NUMPY, reason="numpy is not installed")
@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
def test_numpy_and_pure_python_agree(metric: Any) -> None:
    matrix = _rows(200, 24, seed=1)
    for query in _rows(5, 24, seed=2):
        fast = top_k(query, matrix, 10, metric=metric, numpy=True)
        slow = top_k(query, matrix, 10, metric=metric, numpy=False)
        assert [i for i, _ in fast] == [i for i, _ in slow]
        assert [s for _, s in fast] == pytest.approx([s for _, s in slow])
    a, b = matrix[0], matrix[1]
    for fn in (dot, cosine, euclidean):
        assert fn(a, b, numpy=True) == pytest.approx(fn(a, b, numpy=False))
    assert normalize(a, numpy=True) == pytest.approx(normalize(a, numpy=False))
