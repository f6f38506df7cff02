"""Helpers for the resilience tests: injected time, client harnesses, redis-server."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from ai_lib_python import AiClient, ChatResponse, Timeout
from ai_lib_python.client import CallContext, ChatHandler
from ai_lib_python.client._assemble import Target
from ai_lib_python.errors import AiLibError
from ai_lib_python.resilience import ResilienceConfig, ResilientExecutor
from ai_lib_python.testing import ProviderEmulator
from ai_lib_python.types import CallStats, ChatRequest, StreamEvent

MODELS = {
    "openai": "openai/gpt-4o",
    "anthropic": "anthropic/claude-sonnet-4-5",
    "gemini": "gemini/gemini-2.5-flash",
}
KEY = "test-key-123456"
CALL_LIMIT_S = 10.0
"""Every call in these tests is bounded: a hang fails the test instead of the suite."""


class FakeTime:
    """Injected clock and sleep: sleeping advances the clock at once and is recorded."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Capture:
    """A layer that keeps the CallContext of the latest call (stats of failed calls)."""

    stage = 45

    def __init__(self) -> None:
        self.ctx: CallContext | None = None

    def wrap(self, inner: ChatHandler) -> ChatHandler:
        capture = self

        class _Handler:
            async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
                capture.ctx = ctx
                return await inner.execute(request, ctx)

            def stream(self, request: ChatRequest, ctx: CallContext) -> Any:
                capture.ctx = ctx
                return inner.stream(request, ctx)

            async def aclose(self) -> None:
                await inner.aclose()

        return _Handler()

    @property
    def stats(self) -> CallStats:
        assert self.ctx is not None
        return self.ctx.stats


@dataclass
class Outcome:
    """What one call produced."""

    response: ChatResponse | None
    error: AiLibError | None
    stats: CallStats
    events: list[StreamEvent] = field(default_factory=list)


@dataclass
class Harness:
    emu: ProviderEmulator
    client: AiClient
    executor: ResilientExecutor
    time: FakeTime
    capture: Capture

    async def call(self, stream: bool, text: str = "hello there") -> Outcome:
        return await asyncio.wait_for(self._call(stream, text), CALL_LIMIT_S)

    async def _call(self, stream: bool, text: str) -> Outcome:
        if not stream:
            try:
                resp = await self.client.chat().user(text).execute()
            except AiLibError as exc:
                return Outcome(None, exc, self.capture.stats)
            return Outcome(resp, None, resp.stats)
        events: list[StreamEvent] = []
        s = self.client.chat().user(text).stream()
        try:
            async with s:
                async for event in s:
                    events.append(event)
        except AiLibError as exc:
            return Outcome(None, exc, s.stats, events)
        return Outcome(s.response, None, s.stats, events)


async def make_harness(
    emu: ProviderEmulator,
    fmt: str,
    *,
    config: ResilienceConfig | None = None,
    fake_time: FakeTime | None = None,
    fallbacks: Sequence[str] = (),
    base_url: str | None = None,
    timeout: Timeout | None = None,
    max_response_bytes: int | None = 64 * 1024 * 1024,
    real_clock: bool = True,
    sleep: Any = None,
) -> Harness:
    """A client for ``fmt`` on the emulator behind a ResilientExecutor with fake sleep."""
    ft = fake_time or FakeTime()
    executor = ResilientExecutor(
        config or ResilienceConfig(), sleep=sleep or ft.sleep,
        clock=time.time if real_clock else ft.clock,
        rand=lambda: 0.5, environ={})
    capture = Capture()
    targets = [Target(MODELS[f], api_key=KEY, base_url=emu.url_for(f)) for f in fallbacks]
    client = await AiClient.create(
        MODELS[fmt], api_key=KEY, base_url=base_url or emu.url_for(fmt), executor=executor,
        fallbacks=targets, layers=[capture], timeout=timeout,
        max_response_bytes=max_response_bytes)
    return Harness(emu, client, executor, ft, capture)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- redis ----------------------------------------------------------------------------
@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


def start_redis() -> RedisServer:
    """A redis-server on a free loopback port, persistence off."""
    return start_redis_on(free_port())


def start_redis_on(port: int) -> RedisServer:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not on PATH (make test installs it: scripts/ensure-redis.sh)")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning",
         "--dir", os.environ.get("TMPDIR", "/tmp")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return RedisServer(port, proc)
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.02)
    proc.kill()
    pytest.fail("redis-server did not start")
