"""Embedding endpoints of the emulator, in each provider's format.

* OpenAI ``POST /v1/embeddings`` (``input``, ``dimensions``, ``encoding_format``), also
  as Jina (``task``, ``dimensions``, ``embedding_type``) and Mistral
  (``output_dimension``, ``output_dtype``) send it;
* Gemini ``POST /v1beta/models/{model}:batchEmbedContents`` (``requests[].content.parts``,
  ``outputDimensionality``) and ``:embedContent``;
* Cohere ``POST /v2/embed`` (``texts``, ``input_type``, ``embedding_types``,
  ``output_dimension``).

Every text gets the same deterministic unit vector whatever the format, so a test
can compare vectors across providers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ai_lib_python.testing._openai import embedding_vector, embeddings_body
from ai_lib_python.testing._script import RecordedRequest
from ai_lib_python.testing._wire import body_dict, dumps, estimate_tokens


def _dims(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else (
        default)


def _openai_compatible(request: RecordedRequest, dims: int) -> bytes:
    body = dict(body_dict(request))
    if "output_dimension" in body:  # Mistral
        body["dimensions"] = body.pop("output_dimension")
    if body.get("embedding_type") == "base64":  # Jina
        body["encoding_format"] = "base64"
    return embeddings_body(dataclasses.replace(request, json=body), dims)


def _gemini_text(item: Any) -> str:
    content = item.get("content") if isinstance(item, dict) else None
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list):
        return ""
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict))


def _gemini(request: RecordedRequest, dims: int) -> bytes:
    body = body_dict(request)
    if request.path.endswith(":embedContent"):
        n = _dims(body.get("outputDimensionality"), dims)
        return dumps({"embedding": {"values": embedding_vector(_gemini_text(body), n)}})
    items = body.get("requests")
    out = []
    for item in items if isinstance(items, list) else []:
        n = _dims(item.get("outputDimensionality") if isinstance(item, dict) else None, dims)
        out.append({"values": embedding_vector(_gemini_text(item), n)})
    return dumps({"embeddings": out})


def _cohere(request: RecordedRequest, dims: int, seq: int) -> bytes:
    body = body_dict(request)
    texts = body.get("texts")
    texts = [t for t in texts if isinstance(t, str)] if isinstance(texts, list) else []
    n = _dims(body.get("output_dimension"), dims)
    vectors = [embedding_vector(t, n) for t in texts]
    tokens = sum(estimate_tokens(len(t)) or 1 for t in texts)
    types = body.get("embedding_types")
    kinds = [k for k in types if isinstance(k, str)] if isinstance(types, list) else ["float"]
    return dumps({
        "id": f"emb-emu-{seq:08d}",
        "embeddings": {kind: vectors for kind in kinds},
        "texts": texts,
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}},
        "response_type": "embeddings_by_type",
    })


def embedding_body(fmt: str, request: RecordedRequest, default_dimensions: int,
                   seq: int = 0) -> bytes:
    """The body answering an embeddings request of wire format ``fmt``."""
    if fmt == "gemini":
        return _gemini(request, default_dimensions)
    if fmt == "cohere":
        return _cohere(request, default_dimensions, seq)
    return _openai_compatible(request, default_dimensions)
