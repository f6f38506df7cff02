"""Fixtures for routing tests: emulators on loopback and a clean route registry."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from ai_lib_python.client._assemble import Target
from ai_lib_python.routing import routes, unregister_route
from ai_lib_python.testing import ProviderEmulator

KEY = "sk-route-test-0123456789"


@pytest.fixture
async def emu() -> AsyncIterator[ProviderEmulator]:
    async with ProviderEmulator(require_key=KEY) as e:
        yield e


@pytest.fixture
async def emu2() -> AsyncIterator[ProviderEmulator]:
    async with ProviderEmulator(require_key=KEY) as e:
        yield e


@pytest.fixture(autouse=True)
def clean_routes() -> Iterator[None]:
    before = set(routes())
    yield
    for name in set(routes()) - before:
        unregister_route(name)


def target(emu: ProviderEmulator, model: str, **kw: object) -> Target:
    return Target(model, api_key=KEY, base_url=emu.url_for(model.split("/")[0]),
                  **kw)  # type: ignore[arg-type]


def dead_url() -> str:
    """A loopback URL where nothing listens (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
