"""Fixtures for the developer-experience meta-tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ai_lib_python.testing import ProviderEmulator

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-dx-0123456789abcdef"
MODELS = {
    "openai": "openai/gpt-4o",
    "anthropic": "anthropic/claude-sonnet-4-5",
    "gemini": "gemini/gemini-2.5-flash",
}


@pytest.fixture
def thread_emu() -> Iterator[ProviderEmulator]:
    """An emulator on its own thread, for synchronous code under test."""
    emu = ProviderEmulator.start_in_thread(require_key=KEY)
    try:
        yield emu
    finally:
        emu.stop()
