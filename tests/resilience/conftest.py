"""Fixtures for the resilience tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from ai_lib_python.testing import ProviderEmulator
from tests.resilience._helpers import FakeTime, RedisServer, start_redis


@pytest.fixture
async def emu() -> AsyncIterator[ProviderEmulator]:
    async with ProviderEmulator() as emulator:
        yield emulator


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, persistence off; stopped afterwards."""
    server = start_redis()
    try:
        yield server
    finally:
        server.kill()
