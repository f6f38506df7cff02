"""Embeddings search: embed documents once, then rank them against a query.

Large inputs are split into provider-sized batches and sent concurrently; the
vectors come back in input order. ``top_k`` ranks by cosine similarity (with numpy
when it is installed, in pure Python otherwise).

    python examples/embeddings_search.py
"""

from __future__ import annotations

import asyncio

from _offline import Offline

from ai_lib_python.embeddings import EmbeddingClient, top_k

MODEL = "openai/text-embedding-3-small"
DOCUMENTS = [
    "The night train to Vienna leaves from platform 4 at 22:10.",
    "Our office is closed on public holidays.",
    "Refunds are paid within 14 days to the original card.",
    "Bicycles may be taken on regional trains outside rush hour.",
]
QUERY = "When does the train to Vienna depart?"


async def main() -> None:
    with Offline(MODEL) as env:
        async with await EmbeddingClient.create(MODEL, **env.connect(MODEL)) as embedder:
            docs = await embedder.embed(DOCUMENTS, input_type="document")
            query = await embedder.embed_one(QUERY, input_type="query")
        if env.emulator is not None:
            print("(the emulator's vectors are deterministic but not semantic: offline, "
                  "the ranking below is arbitrary)")
    print(f"{len(docs)} documents, {docs.dimensions} dimensions, "
          f"{docs.usage.prompt_tokens} tokens")
    for rank, (index, score) in enumerate(top_k(query, docs.vectors, k=2), 1):
        print(f"best match #{rank} ({score:.3f}): {DOCUMENTS[index]}")


if __name__ == "__main__":
    asyncio.run(main())
