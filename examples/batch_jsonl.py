"""Batch from JSONL: run a file of requests into a file of results, resumably.

Each input line is one request; results are written as they complete, and a rerun
skips the ids already answered. The same thing from a shell:
``ai-lib batch questions.jsonl answers.jsonl --model openai/gpt-4o-mini``.

    python examples/batch_jsonl.py
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

from _offline import Offline

from ai_lib_python import AiClient
from ai_lib_python.batch import BatchProgress, run_jsonl
from ai_lib_python.testing import Reply

MODEL = "openai/gpt-4o-mini"
QUESTIONS = [
    {"id": "capital", "prompt": "Capital of France? One word.", "max_tokens": 10},
    {"id": "prime", "prompt": "Name a prime above 10. Just the number.", "temperature": 0},
    {"id": "haiku", "system": "You write haiku.",
     "messages": [{"role": "user", "content": "A haiku about batches."}]},
]


def show(progress: BatchProgress) -> None:
    print(f"  {progress.done}/{progress.total} done")


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ai-lib-batch-") as tmp:
        await run(Path(tmp))


async def run(folder: Path) -> None:
    questions, answers = folder / "questions.jsonl", folder / "answers.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")

    with Offline(MODEL) as env:
        env.script(Reply(text="Paris"), Reply(text="11"),
                   Reply(text="Many small requests / one file in, one file out / "
                              "the queue drains at dawn"))
        async with await AiClient.create(MODEL, **env.connect(MODEL)) as client:
            summary = await run_jsonl(client, questions, answers, max_concurrency=1,
                                      on_progress=show)
            again = await run_jsonl(client, questions, answers)  # nothing left to do
    print(f"{summary.total} items: {summary.succeeded} succeeded, {summary.failed} failed; "
          f"rerun skipped {again.skipped}")
    for line in answers.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        print(f"{row['id']}: {row['content'] if row['ok'] else row['error']['message']}")


if __name__ == "__main__":
    asyncio.run(main())
