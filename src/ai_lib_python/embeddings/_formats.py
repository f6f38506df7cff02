"""Embedding request/response formats, one row per provider family.

=========  ==========================================  ================================
format     request                                     response
=========  ==========================================  ================================
openai     ``input``, ``dimensions``                   ``data[].embedding`` (+ index),
                                                       ``usage.prompt_tokens``
jina       ``input``, ``task``, ``dimensions``         as openai
mistral    ``input``, ``output_dimension``             as openai
gemini     ``requests[]``: ``model``, ``content.parts``,  ``embeddings[].values`` (no usage)
           ``taskType``, ``outputDimensionality``
cohere     ``texts``, ``input_type``,                  ``embeddings.float``,
           ``embedding_types``, ``output_dimension``   ``meta.billed_units.input_tokens``
=========  ==========================================  ================================

``input_type`` is neutral: ``query``, ``document``, ``classification`` or
``clustering``; each format maps it to its own word (OpenAI and Mistral have none).
``max_batch`` and ``max_tokens`` are the per-request limits the providers document
(kept a little under where they are given in tokens).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ai_lib_python.errors import ConfigurationError, StreamDecodeError

InputType = str  # "query" | "document" | "classification" | "clustering"
INPUT_TYPES = ("query", "document", "classification", "clustering")

Encode = Callable[[str, Sequence[str], "str | None", "int | None"], dict[str, Any]]
Decode = Callable[[Any], tuple[list[list[float]], "int | None"]]


@dataclass(frozen=True, slots=True)
class EmbeddingFormat:
    """How one provider family encodes an embeddings request and decodes its answer."""

    name: str
    encode: Encode
    decode: Decode
    max_batch: int
    max_tokens: int | None = None


def _vector(value: Any) -> list[float]:
    if isinstance(value, str):  # base64 little-endian float32
        raw = base64.b64decode(value)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    if isinstance(value, list):
        return [float(v) for v in value]
    raise StreamDecodeError(f"an embedding must be a list of numbers, got {type(value).__name__}")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# -- OpenAI and the formats built on it ---------------------------------------------
def _openai_decode(body: Any) -> tuple[list[list[float]], int | None]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise StreamDecodeError("embeddings response has no data list")
    items = sorted(data, key=lambda d: d.get("index", 0) if isinstance(d, dict) else 0)
    vectors = [_vector(d.get("embedding") if isinstance(d, dict) else None) for d in items]
    usage = body.get("usage")
    tokens = _int(usage.get("prompt_tokens")) if isinstance(usage, dict) else None
    if tokens is None and isinstance(usage, dict):
        tokens = _int(usage.get("total_tokens"))
    return vectors, tokens


def _openai_encode(model: str, texts: Sequence[str], input_type: str | None,
                   dimensions: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": list(texts)}
    if dimensions is not None:
        body["dimensions"] = dimensions
    return body


_JINA_TASKS = {"query": "retrieval.query", "document": "retrieval.passage",
               "classification": "classification", "clustering": "separation"}


def _jina_encode(model: str, texts: Sequence[str], input_type: str | None,
                 dimensions: int | None) -> dict[str, Any]:
    body = _openai_encode(model, texts, None, dimensions)
    if input_type is not None:
        body["task"] = _JINA_TASKS[input_type]
    return body


def _mistral_encode(model: str, texts: Sequence[str], input_type: str | None,
                    dimensions: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": list(texts)}
    if dimensions is not None:
        body["output_dimension"] = dimensions
    return body


# -- Gemini ---------------------------------------------------------------------------
_GEMINI_TASKS = {"query": "RETRIEVAL_QUERY", "document": "RETRIEVAL_DOCUMENT",
                 "classification": "CLASSIFICATION", "clustering": "CLUSTERING"}


def _gemini_encode(model: str, texts: Sequence[str], input_type: str | None,
                   dimensions: int | None) -> dict[str, Any]:
    requests = []
    for text in texts:
        item: dict[str, Any] = {"model": f"models/{model}",
                                "content": {"parts": [{"text": text}]}}
        if input_type is not None:
            item["taskType"] = _GEMINI_TASKS[input_type]
        if dimensions is not None:
            item["outputDimensionality"] = dimensions
        requests.append(item)
    return {"requests": requests}


def _gemini_decode(body: Any) -> tuple[list[list[float]], int | None]:
    items = body.get("embeddings") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise StreamDecodeError("batchEmbedContents response has no embeddings list")
    return [_vector(e.get("values") if isinstance(e, dict) else None) for e in items], None


# -- Cohere v2 ------------------------------------------------------------------------
_COHERE_TYPES = {"query": "search_query", "document": "search_document",
                 "classification": "classification", "clustering": "clustering"}


def _cohere_encode(model: str, texts: Sequence[str], input_type: str | None,
                   dimensions: int | None) -> dict[str, Any]:
    # input_type is required by the v3+ models; documents is the safe default.
    body: dict[str, Any] = {"model": model, "texts": list(texts),
                            "input_type": _COHERE_TYPES[input_type or "document"],
                            "embedding_types": ["float"]}
    if dimensions is not None:
        body["output_dimension"] = dimensions
    return body


def _cohere_decode(body: Any) -> tuple[list[list[float]], int | None]:
    emb = body.get("embeddings") if isinstance(body, dict) else None
    if isinstance(emb, dict):
        emb = emb.get("float")
    if not isinstance(emb, list):
        raise StreamDecodeError("embed response has no float embeddings")
    meta = body.get("meta")
    billed = meta.get("billed_units") if isinstance(meta, dict) else None
    tokens = _int(billed.get("input_tokens")) if isinstance(billed, dict) else None
    return [_vector(v) for v in emb], tokens


FORMATS: Mapping[str, EmbeddingFormat] = {
    "openai": EmbeddingFormat("openai", _openai_encode, _openai_decode, 2048, 250_000),
    "jina": EmbeddingFormat("jina", _jina_encode, _openai_decode, 512, None),
    "mistral": EmbeddingFormat("mistral", _mistral_encode, _openai_decode, 128, 15_000),
    "gemini": EmbeddingFormat("gemini", _gemini_encode, _gemini_decode, 100, None),
    "cohere": EmbeddingFormat("cohere", _cohere_encode, _cohere_decode, 96, None),
}
# Which format a provider speaks: by provider id first, then by chat payload format.
_BY_PROVIDER = {"jina": "jina", "mistral": "mistral", "cohere": "cohere", "gemini": "gemini",
                "google": "gemini"}
_BY_PAYLOAD = {"gemini_style": "gemini", "cohere_v2": "cohere"}


def format_for(manifest: Any, explicit: str | None = None) -> EmbeddingFormat:
    """The embedding format of ``manifest``'s provider (or the one named)."""
    name = explicit or _BY_PROVIDER.get(manifest.id) or _BY_PAYLOAD.get(
        manifest.payload_format, "openai")
    fmt = FORMATS.get(name)
    if fmt is None:
        raise ConfigurationError(f"unknown embedding format {name!r}; "
                                 f"expected one of {sorted(FORMATS)}")
    return fmt


def check_input_type(input_type: str | None) -> None:
    if input_type is not None and input_type not in INPUT_TYPES:
        raise ConfigurationError(f"input_type must be one of {INPUT_TYPES}, got {input_type!r}")
