"""A burst of concurrent calls on a warm connection pool, over loopback.

httpcore hands an idle keep-alive connection to every request queued in one pass;
all but one then fail with ConnectionNotAvailable and go round the pool again
(encode/httpcore#1110). The transport lets a burst into the pool in turn, so each
call gets a connection of its own at the first try.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpcore
import pytest
from httpcore._async import http11

from ai_lib_python.testing import Fault, ProviderEmulator, Reply
from tests._support import make_client


@pytest.fixture
def refusals(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts connections that refused a request the pool had handed them."""
    seen = [0]
    original = http11.AsyncHTTP11Connection.handle_async_request

    async def counting(self: Any, request: Any) -> Any:
        try:
            return await original(self, request)
        except httpcore.ConnectionNotAvailable:
            seen[0] += 1
            raise

    monkeypatch.setattr(http11.AsyncHTTP11Connection, "handle_async_request", counting)
    yield seen


async def _burst(emu: ProviderEmulator, gated: bool, n: int) -> list[str]:
    emu.enqueue(*[Reply(text=f"answer {i}") for i in range(n + 1)])
    async with await make_client(emu, "openai") as client:
        transport = client._transport  # type: ignore[attr-defined]
        transport._gated = gated
        await client.chat().user("warm").execute()  # leaves one idle connection
        replies = await asyncio.gather(*(client.chat().user(f"q{i}").execute()
                                         for i in range(n)))
    return [r.content for r in replies]


async def test_a_burst_on_a_warm_pool_takes_one_connection_each(
        emu: ProviderEmulator, refusals: list[int]) -> None:
    texts = await _burst(emu, True, 24)
    assert sorted(texts) == sorted(f"answer {i}" for i in range(1, 25))
    assert refusals[0] <= 1  # at most the one request that came in first


async def test_without_the_turns_the_pool_hands_one_connection_to_many(
        emu: ProviderEmulator, refusals: list[int]) -> None:
    # The control: the same burst straight into httpcore's pool. If this starts to
    # fail, httpcore no longer piles requests on one idle connection.
    texts = await _burst(emu, False, 24)
    assert len(texts) == 24
    assert refusals[0] >= 12


async def test_waiting_for_a_turn_counts_against_the_pool_timeout(
        emu: ProviderEmulator) -> None:
    """A full pool: every waiting call fails as a pool timeout at the pool timeout,
    not one after the other (and not as a first-token timeout)."""
    import httpx

    from ai_lib_python import Timeout
    from ai_lib_python.errors import ConnectTimeoutError

    emu.enqueue(Fault.stall(1, 1.0, reply=Reply(text="slow")))
    timeout = Timeout(connect=0.3, first_token=0.8, idle=5.0, total=10.0)
    client = await make_client(emu, "openai", timeout=timeout,
                               limits=httpx.Limits(max_connections=1))
    async with client, client.chat().user("hold").stream() as holder:
        await holder.__anext__()  # the one connection is busy now
        results = await asyncio.gather(
            *(client.chat().user(f"q{i}").execute() for i in range(5)),
            return_exceptions=True)
    assert all(isinstance(r, ConnectTimeoutError) for r in results), results
    assert all("pool" in str(r) for r in results)


async def test_no_turns_when_requests_may_go_to_other_pools(
        emu: ProviderEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy from the environment mounts another pool: one door for all would let a
    # request wait on a pool it does not use.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    emu.enqueue(*[Reply(text=f"a{i}") for i in range(4)])
    async with await make_client(emu, "openai") as client:
        assert client._transport._gated is False  # type: ignore[attr-defined]
        replies = await asyncio.gather(*(client.chat().user("q").execute() for _ in range(4)))
    assert sorted(r.content for r in replies) == ["a0", "a1", "a2", "a3"]
