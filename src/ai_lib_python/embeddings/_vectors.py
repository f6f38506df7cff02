"""Vector operations: numpy when it is installed, pure Python otherwise.

Both paths give the same results (to float rounding) and the same order, ties broken
by the lower index. Pass ``numpy=False`` (or True) to pick one explicitly.
"""

from __future__ import annotations

import heapq
import importlib
import math
from collections.abc import Sequence
from typing import Any, Literal

_np: Any
try:  # pragma: no cover - depends on the environment
    _np = importlib.import_module("numpy")
except ImportError:  # pragma: no cover
    _np = None

Vector = Sequence[float]
Metric = Literal["cosine", "dot", "euclidean"]
HAS_NUMPY = _np is not None


def _use_numpy(flag: bool | None) -> Any:
    if flag is False:
        return None
    if flag and _np is None:
        raise RuntimeError("numpy is not installed")
    return _np


def _check(a: Vector, b: Vector) -> None:
    if len(a) != len(b):
        raise ValueError(f"vectors differ in length: {len(a)} and {len(b)}")


def dot(a: Vector, b: Vector, *, numpy: bool | None = None) -> float:
    """The dot product of two vectors."""
    _check(a, b)
    np = _use_numpy(numpy)
    if np is not None:
        return float(np.dot(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)))
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


def norm(a: Vector, *, numpy: bool | None = None) -> float:
    """The Euclidean length of a vector."""
    np = _use_numpy(numpy)
    if np is not None:
        return float(np.linalg.norm(np.asarray(a, dtype=np.float64)))
    return math.sqrt(math.fsum(x * x for x in a))


def cosine(a: Vector, b: Vector, *, numpy: bool | None = None) -> float:
    """Cosine similarity in [-1, 1]; 0.0 when either vector is all zeros."""
    denom = norm(a, numpy=numpy) * norm(b, numpy=numpy)
    return dot(a, b, numpy=numpy) / denom if denom else 0.0


def euclidean(a: Vector, b: Vector, *, numpy: bool | None = None) -> float:
    """The Euclidean distance between two vectors."""
    _check(a, b)
    np = _use_numpy(numpy)
    if np is not None:
        return float(np.linalg.norm(np.asarray(a, dtype=np.float64)
                                    - np.asarray(b, dtype=np.float64)))
    return math.sqrt(math.fsum((x - y) ** 2 for x, y in zip(a, b, strict=True)))


def normalize(a: Vector, *, numpy: bool | None = None) -> list[float]:
    """``a`` scaled to unit length (all zeros stay zeros)."""
    n = norm(a, numpy=numpy)
    return [float(x) / n for x in a] if n else [0.0 for _ in a]


def top_k(query: Vector, matrix: Sequence[Vector], k: int = 5, *, metric: Metric = "cosine",
          numpy: bool | None = None) -> list[tuple[int, float]]:
    """The ``k`` rows of ``matrix`` nearest ``query``: ``(row index, score)``, best first.

    The score is the similarity for ``cosine`` and ``dot`` (higher is nearer) and the
    distance for ``euclidean`` (lower is nearer).
    """
    if metric not in ("cosine", "dot", "euclidean"):
        raise ValueError(f"metric must be cosine, dot or euclidean, got {metric!r}")
    if k <= 0 or not len(matrix):
        return []
    for row in matrix:
        _check(query, row)
    np = _use_numpy(numpy)
    if np is not None:
        m = np.asarray(matrix, dtype=np.float64)
        q = np.asarray(query, dtype=np.float64)
        if metric == "euclidean":
            scores = np.linalg.norm(m - q, axis=1)
            keys = scores
        else:
            scores = m @ q
            if metric == "cosine":
                denom = np.linalg.norm(m, axis=1) * np.linalg.norm(q)
                scores = np.divide(scores, denom, out=np.zeros_like(scores), where=denom != 0)
            keys = -scores
        order = np.argsort(keys, kind="stable")[:k]
        return [(int(i), float(scores[i])) for i in order]
    if metric == "euclidean":
        pairs = [(euclidean(query, row, numpy=False), i) for i, row in enumerate(matrix)]
        best = heapq.nsmallest(k, pairs)
        return [(i, s) for s, i in best]
    fn = cosine if metric == "cosine" else dot
    scored = [(-fn(query, row, numpy=False), i) for i, row in enumerate(matrix)]
    return [(i, -s) for s, i in heapq.nsmallest(k, scored)]
