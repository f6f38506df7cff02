"""Fixtures for the provider emulator tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ai_lib_python.testing import ProviderEmulator


@pytest.fixture
async def emu() -> AsyncIterator[ProviderEmulator]:
    async with ProviderEmulator() as emulator:
        yield emulator
