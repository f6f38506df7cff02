from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from ai_lib_python.testing import ProviderEmulator
from tests.resilience._helpers import RedisServer, start_redis

KEY = "sk-test-cache"


@pytest.fixture
async def emu() -> AsyncIterator[ProviderEmulator]:
    async with ProviderEmulator(require_key=KEY) as e:
        yield e


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """The resilience suite's real redis-server on a free loopback port."""
    server = start_redis()
    try:
        yield server
    finally:
        server.kill()
