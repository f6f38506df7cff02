"""BatchExecutor and the batch CLI end to end through AiClient, and BatchCollector."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ai_lib_python import AiClient, CancelledError, ProviderError
from ai_lib_python.batch import BatchCollector, BatchExecutor, BatchProgress
from ai_lib_python.cli._main import main as cli_main
from ai_lib_python.client import CallContext, ChatHandler
from ai_lib_python.resilience import ResilienceConfig, ResilientExecutor, RetrySettings
from ai_lib_python.testing import Fault, ProviderEmulator, RecordedRequest, Reply
from ai_lib_python.types import ChatRequest, ChatResponse, StreamEvent

KEY = "sk-test-batch"


def _text(rec: RecordedRequest) -> str:
    return str(rec.json["messages"][-1]["content"])


def responder(rec: RecordedRequest) -> Reply | Fault:
    text = _text(rec)
    if "fail" in text:
        return Fault.status(400, message=f"bad item {text}")
    return Reply(text=f"answer to {text}", usage=(10, 5))


@pytest.fixture
async def emu() -> AsyncIterator[ProviderEmulator]:
    async with ProviderEmulator(require_key=KEY, latency=0.005) as e:
        e.set_default(responder)
        yield e


class Peak:
    """A layer that measures how many calls are in flight at once."""

    stage = 50

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    def wrap(self, inner: ChatHandler) -> ChatHandler:
        peak = self

        class Handler:
            async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
                peak.now += 1
                peak.peak = max(peak.peak, peak.now)
                try:
                    return await inner.execute(request, ctx)
                finally:
                    peak.now -= 1

            def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[StreamEvent]:
                return inner.stream(request, ctx)

            async def aclose(self) -> None:
                await inner.aclose()

        return Handler()


async def make(emu: ProviderEmulator, **kw: Any) -> AiClient:
    return await AiClient.create("openai/gpt-4o", base_url=emu.url_for("openai"), api_key=KEY,
                                 **kw)


def requests_for(client: AiClient, texts: list[str]) -> list[ChatRequest]:
    return [client.chat().user(t).build() for t in texts]


async def test_results_in_order_with_per_item_errors_and_bounded_concurrency(
        emu: ProviderEmulator) -> None:
    peak = Peak()
    progress: list[BatchProgress] = []
    texts = [f"q{i}" if i % 7 else f"fail q{i}" for i in range(24)]
    async with await make(emu, layers=[peak]) as client:
        executor = BatchExecutor(client, max_concurrency=4, on_progress=progress.append,
                                 progress_bar=True)
        results = await executor.run(requests_for(client, texts))
    assert [r.index for r in results] == list(range(24))
    assert peak.peak == 4 and len(emu.requests) == 24
    for r, text in zip(results, texts, strict=True):
        if text.startswith("fail"):
            assert not r.ok and isinstance(r.error, ProviderError) and r.error.code == "E1001"
        else:
            assert r.ok and r.response is not None and r.response.content == f"answer to {text}"
    assert [p.done for p in progress] == list(range(1, 25))
    assert progress[-1].failed == 4 and progress[-1].succeeded == 20


async def test_each_item_goes_through_the_resilience_layer(emu: ProviderEmulator) -> None:
    seen: dict[str, int] = {}

    def flaky(rec: RecordedRequest) -> Reply | Fault:
        text = _text(rec)
        seen[text] = seen.get(text, 0) + 1
        if text == "flaky" and seen[text] == 1:
            return Fault.status(503)
        return Reply(text=f"answer to {text}")

    async def no_wait(_: float) -> None:
        await asyncio.sleep(0)

    emu.set_default(flaky)
    executor = ResilientExecutor(ResilienceConfig(retry=RetrySettings(max_retries=2)),
                                 sleep=no_wait)
    async with await make(emu, executor=executor) as client:
        results = await BatchExecutor(client).run(
            [("a", client.chat().user("steady").build()),
             ("b", client.chat().user("flaky").build())])
    assert [r.id for r in results] == ["a", "b"] and all(r.ok for r in results)
    assert results[1].response is not None and results[1].response.stats.attempts == 2


async def test_cancellation_stops_the_run_and_keeps_every_item(emu: ProviderEmulator) -> None:
    emu.latency = 0.02
    texts = [f"q{i}" for i in range(30)]
    async with await make(emu) as client:
        executor = BatchExecutor(client, max_concurrency=3)

        def progress(p: BatchProgress) -> None:
            if p.done >= 4:
                executor.cancel.cancel("enough")

        executor.on_progress = progress
        results = await executor.run(requests_for(client, texts))
    assert len(results) == 30 and [r.index for r in results] == list(range(30))
    done = [r for r in results if r.ok]
    cancelled = [r for r in results if isinstance(r.error, CancelledError)]
    assert len(done) >= 4 and len(done) + len(cancelled) == 30 and cancelled
    assert len(emu.requests) < 30


async def test_run_messages_shortcut(emu: ProviderEmulator) -> None:
    async with await make(emu) as client:
        results = await BatchExecutor(client).run_messages(
            [[{"role": "user", "content": "one"}], [{"role": "user", "content": "two"}]],
            temperature=0.0)
    assert [r.response.content for r in results if r.response] == ["answer to one",
                                                                   "answer to two"]
    assert emu.requests[0].json["temperature"] == 0.0


# -- BatchCollector --------------------------------------------------------------------
class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def test_collector_batches_by_size_and_by_time() -> None:
    t = FakeTime()
    batches: list[list[int]] = []

    async def handle(items: list[int]) -> list[int]:
        batches.append(items)
        return [i * 10 for i in items]

    collector = BatchCollector(handle, max_size=3, max_wait=0.5, clock=t.clock, sleep=t.sleep)
    first = await asyncio.gather(*(collector.submit(i) for i in range(3)))
    assert first == [0, 10, 20] and batches == [[0, 1, 2]] and t.now == 0.0  # by size
    second = await asyncio.gather(collector.submit(7), collector.submit(8))
    assert second == [70, 80] and batches[1] == [7, 8]
    assert t.now == pytest.approx(0.5) and t.sleeps == [0.5]  # by time, on the fake clock
    await collector.aclose()
    with pytest.raises(RuntimeError):
        await collector.submit(1)


async def test_collector_gives_a_handler_error_to_every_item_of_its_batch() -> None:
    async def handle(items: list[str]) -> list[str]:
        if "bad" in items:
            raise ValueError("no")
        return items

    collector: BatchCollector[str, str] = BatchCollector(handle, max_size=2, max_wait=10)
    results = await asyncio.gather(collector.submit("bad"), collector.submit("ok"),
                                   return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
    assert await asyncio.gather(collector.submit("fine"), collector.submit("too")) == [
        "fine", "too"]


# -- the CLI ---------------------------------------------------------------------------
def test_cli_batch_runs_a_jsonl_file_and_resumes(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [
        {"id": "a", "messages": [{"role": "user", "content": "alpha"}], "temperature": 0},
        {"id": 2, "prompt": "beta", "system": "Be brief.", "max_tokens": 20, "stop": ["x"]},
        {"id": "c", "prompt": "fail gamma"},
        {"id": "d"},
        {"id": "big", "prompt": "word " * 150_000},  # over gpt-4o's 128k window
    ]
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n\nnot json\n")
    emu = ProviderEmulator.start_in_thread(require_key=KEY)
    try:
        emu.set_default(responder)
        args = ["batch", str(src), str(out), "--model", "openai/gpt-4o", "--base-url",
                emu.url_for("openai"), "--api-key", KEY, "--concurrency", "2"]
        assert cli_main(args) == 1
        rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
        assert rows["a"]["ok"] and rows["a"]["content"] == "answer to alpha"
        assert rows["2"]["ok"] and rows["2"]["usage"]["prompt_tokens"] == 10
        assert not rows["c"]["ok"] and rows["c"]["error"]["code"] == "E1001"
        assert not rows["d"]["ok"] and "messages" in rows["d"]["error"]["message"]
        assert not rows["line 7"]["ok"]
        assert rows["big"]["error"]["code"] == "E1005"  # refused before sending
        assert rows["a"]["cost_usd"] == pytest.approx(10 * 2.5e-6 + 5 * 10e-6)
        assert len(emu.requests) == 3
        # Rerun after the provider recovers: only the failed request is sent again.
        emu.set_default(Reply(text="recovered"))
        assert cli_main(args) == 1  # "big" still cannot fit
        rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
        assert rows["c"]["ok"] and rows["c"]["content"] == "recovered"
        assert len(emu.requests) == 4
        assert sum(1 for r in out.read_text().splitlines() if json.loads(r)["ok"]) == 3
    finally:
        emu.stop()
