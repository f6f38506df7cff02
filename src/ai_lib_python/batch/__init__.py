"""Batches: many requests through one client, and calls grouped over time.

* :class:`BatchExecutor` sends many requests through an AiClient (every layer of its
  execution path applies to each) with bounded concurrency; results come back in
  input order with per-item errors, a progress callback, an optional ``rich``
  progress bar, and cancellation through a CancelToken.
* :class:`BatchCollector` gathers items submitted one by one over time into batches by
  size or time window (clock injected), e.g. texts into embedding requests.
* :func:`run_jsonl` (the ``ai-lib batch IN.jsonl OUT.jsonl --model ...`` command)
  runs a JSONL file of requests into a JSONL file of results, resumably.
"""

from ai_lib_python.batch._collector import BatchCollector
from ai_lib_python.batch._executor import BatchExecutor, BatchProgress, BatchResult
from ai_lib_python.batch._jsonl import JsonlSummary, request_from_line, result_line, run_jsonl

__all__ = [
    "BatchCollector",
    "BatchExecutor",
    "BatchProgress",
    "BatchResult",
    "JsonlSummary",
    "request_from_line",
    "result_line",
    "run_jsonl",
]
