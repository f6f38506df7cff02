"""Embeddings: an EmbeddingClient driven by the manifest's ``embeddings`` endpoint, and
vector operations.

::

    async with await EmbeddingClient.create("openai/text-embedding-3-small") as emb:
        docs = await emb.embed(texts, input_type="document")
        query = await emb.embed_one("where is the station?", input_type="query")
        best = top_k(query, docs.vectors, k=3)        # [(index, cosine), ...]

Formats: OpenAI, Jina, Mistral (``/embeddings``), Gemini (``batchEmbedContents``) and
Cohere (``/v2/embed``). Large inputs are split into provider-sized batches, sent with
bounded concurrency and returned in input order; usage and cost are in
``result.usage`` and ``result.stats.extra["cost_usd"]``.

Vector operations (:func:`cosine`, :func:`dot`, :func:`euclidean`, :func:`normalize`,
:func:`top_k`) use numpy when it is installed and pure Python otherwise.
"""

from ai_lib_python.embeddings._client import EmbeddingClient, EmbeddingResult
from ai_lib_python.embeddings._formats import FORMATS, INPUT_TYPES, EmbeddingFormat
from ai_lib_python.embeddings._vectors import (
    HAS_NUMPY,
    cosine,
    dot,
    euclidean,
    norm,
    normalize,
    top_k,
)

__all__ = [
    "FORMATS",
    "HAS_NUMPY",
    "INPUT_TYPES",
    "EmbeddingClient",
    "EmbeddingFormat",
    "EmbeddingResult",
    "cosine",
    "dot",
    "euclidean",
    "norm",
    "normalize",
    "top_k",
]
