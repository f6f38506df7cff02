"""Fixtures every test folder can use."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ai_lib_python.testing import ProviderEmulator
from tests._support import KEY


@pytest.fixture
async def emu() -> AsyncIterator[ProviderEmulator]:
    """A provider emulator on loopback that requires the test key."""
    async with ProviderEmulator(require_key=KEY) as e:
        yield e
