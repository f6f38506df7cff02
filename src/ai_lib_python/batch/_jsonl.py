"""Run a JSONL file of chat requests into a JSONL file of results, resumably.

Input, one JSON object per line (blank lines are skipped)::

    {"id": "q1", "messages": [{"role": "user", "content": "2+2?"}], "temperature": 0}
    {"id": "q2", "prompt": "Name a prime.", "system": "Be brief.", "max_tokens": 20}

* ``id`` (string or number, unique, required) names the item in the output;
* ``messages`` (role/content dicts) or ``prompt`` (one user message), and an optional
  ``system`` prompt put first;
* optional parameters: ``temperature``, ``max_tokens``, ``top_p``, ``top_k``, ``stop``
  (list), ``seed``, ``frequency_penalty``, ``presence_penalty``, ``response_format``,
  ``tools`` (OpenAI-style function dicts).

Output, one line per item as it completes (so not in input order)::

    {"id": "q1", "ok": true, "content": "4", "finish_reason": "end_turn",
     "tool_calls": [], "usage": {"prompt_tokens": 9, "completion_tokens": 1, ...},
     "latency_ms": 12.3, "cost_usd": 0.0000021}
    {"id": "q3", "ok": false, "error": {"type": "ProviderError", "code": "E2001",
     "message": "..."}}

A rerun skips the ids that already have an ``ok: true`` line in the output and sends
the rest again (failed lines are dropped from the file first), so an interrupted or
partly failed run is finished by running the same command again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ai_lib_python.batch._executor import BatchExecutor, BatchProgress, BatchResult
from ai_lib_python.errors import AiLibError, ConfigurationError

if TYPE_CHECKING:
    from ai_lib_python.client import AiClient, CancelToken
    from ai_lib_python.types import ChatRequest

_PARAMS = ("temperature", "max_tokens", "top_p", "top_k", "seed", "frequency_penalty",
           "presence_penalty", "response_format")


@dataclass(frozen=True, slots=True)
class JsonlSummary:
    """Counts of one ``run_jsonl`` run: input lines, skipped, succeeded, failed."""

    total: int
    skipped: int
    succeeded: int
    failed: int


def request_from_line(client: AiClient, line: dict[str, Any]) -> ChatRequest:
    """Build the request of one input line (ConfigurationError when it is invalid)."""
    builder = client.chat()
    if "system" in line:
        builder.system(line["system"])
    if "messages" in line:
        if not isinstance(line["messages"], list):
            raise ConfigurationError("'messages' must be a list of {role, content} objects")
        builder.messages(line["messages"])
    elif "prompt" in line:
        builder.user(line["prompt"])
    else:
        raise ConfigurationError("a line needs 'messages' or 'prompt'")
    for name in _PARAMS:
        if line.get(name) is not None:
            getattr(builder, name)(line[name])
    if line.get("stop"):
        stop = line["stop"]
        builder.stop(*(stop if isinstance(stop, list) else [stop]))
    if line.get("tools"):
        builder.tools(line["tools"])
    return builder.build()


def result_line(result: BatchResult) -> dict[str, Any]:
    """The output line of one result."""
    if result.ok and result.response is not None:
        resp = result.response
        usage = resp.usage
        out: dict[str, Any] = {
            "id": result.id, "ok": True, "content": resp.content,
            "finish_reason": resp.finish_reason,
            "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments}
                           for c in resp.tool_calls],
            "usage": None if usage is None else {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens},
            "latency_ms": round(resp.stats.latency_ms, 2),
        }
        for key in ("cost_usd", "cache"):
            if key in resp.stats.extra:
                out[key] = resp.stats.extra[key]
        return out
    return {"id": result.id, "ok": False, "error": error_json(result.error)}


def error_json(error: BaseException | None) -> dict[str, Any]:
    code = error.code if isinstance(error, AiLibError) else "E9999"
    return {"type": type(error).__name__, "code": code, "message": str(error)}


def _done_ids(out_path: Path) -> set[str]:
    """Ids already answered in ``out_path``; rewrites it without its failed lines."""
    if not out_path.exists():
        return set()
    kept: list[str] = []
    done: set[str] = set()
    with out_path.open(encoding="utf-8") as fh:
        for raw in fh:
            try:
                row = json.loads(raw)
            except ValueError:
                continue  # a line cut by an interrupted write
            if isinstance(row, dict) and row.get("ok") is True and "id" in row:
                done.add(str(row["id"]))
                kept.append(json.dumps(row, ensure_ascii=False))
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text("".join(k + "\n" for k in kept), encoding="utf-8")
    os.replace(tmp, out_path)
    return done


async def run_jsonl(client: AiClient, in_path: str | Path, out_path: str | Path, *,
                    max_concurrency: int = 8, progress_bar: bool = False,
                    on_progress: Callable[[BatchProgress], None] | None = None,
                    cancel: CancelToken | None = None) -> JsonlSummary:
    """Run the requests of ``in_path`` through ``client`` into ``out_path`` (see the
    module documentation for both line formats)."""
    out_path = Path(out_path)
    done = _done_ids(out_path)
    total, skipped, items, invalid = _read_input(client, Path(in_path), done)
    counts = [0, len(invalid)]
    out = _open_append(out_path)
    try:
        for row in invalid:
            _write(out, row)

        def on_result(result: BatchResult) -> None:
            counts[0 if result.ok else 1] += 1
            _write(out, result_line(result))

        executor = BatchExecutor(client, max_concurrency=max_concurrency, on_result=on_result,
                                 on_progress=on_progress, progress_bar=progress_bar,
                                 cancel=cancel)
        await executor.run(items)
    finally:
        out.close()
    return JsonlSummary(total, skipped, counts[0], counts[1])


def _open_append(path: Path) -> TextIO:
    return path.open("a", encoding="utf-8")


def _read_input(client: AiClient, in_path: Path, done: set[str]
                ) -> tuple[int, int, list[tuple[str, ChatRequest]], list[dict[str, Any]]]:
    """(lines, lines skipped as done, requests to send, output lines of invalid input)."""
    items: list[tuple[str, ChatRequest]] = []
    invalid: list[dict[str, Any]] = []
    seen: set[str] = set()
    total = skipped = 0
    with in_path.open(encoding="utf-8") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            total += 1
            try:
                line = json.loads(raw)
            except ValueError as exc:
                invalid.append({"id": f"line {number}", "ok": False, "error": error_json(
                    ConfigurationError(f"line {number} is not JSON: {exc}"))})
                continue
            rid = line.get("id") if isinstance(line, dict) else None
            if not isinstance(rid, (str, int)) or isinstance(rid, bool):
                invalid.append({"id": f"line {number}", "ok": False, "error": error_json(
                    ConfigurationError(f"line {number} needs a string or number 'id'"))})
                continue
            rid = str(rid)
            if rid in done:
                skipped += 1
                continue
            if rid in seen:
                invalid.append({"id": rid, "ok": False, "error": error_json(
                    ConfigurationError(f"line {number} repeats id {rid!r}"))})
                continue
            seen.add(rid)
            try:
                items.append((rid, request_from_line(client, line)))
            except (ConfigurationError, TypeError, ValueError) as exc:
                invalid.append({"id": rid, "ok": False, "error": error_json(exc)})
    return total, skipped, items, invalid


def _write(out: TextIO, row: dict[str, Any]) -> None:
    out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    out.flush()
