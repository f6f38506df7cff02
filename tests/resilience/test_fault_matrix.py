"""The fault matrix: every fault, over real loopback HTTP against the emulator, for the
OpenAI, Anthropic and Gemini wire formats, streamed and not.

Each case asserts the typed error or the recovered answer, the number of attempts
(both the emulator's request count and CallStats.attempts), the waits the retry
layer slept (through the injected sleep: nothing here waits on a backoff), and that
the call ends within a bound (``Harness.call`` runs under ``asyncio.wait_for``).

Retry policies come from the embedded manifests (2 retries each); where a manifest's
``retry_on_http_status`` leaves a status out, that status is not retried for it.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator

import pytest

from ai_lib_python import Timeout
from ai_lib_python.errors import (
    ConnectError,
    ConnectTimeoutError,
    FirstTokenTimeoutError,
    IdleTimeoutError,
    ProviderError,
    ResponseTooLargeError,
    StreamDecodeError,
    TotalTimeoutError,
)
from ai_lib_python.testing import Fault, ProviderEmulator, Raw, Reply
from ai_lib_python.types import PartialContentDelta, StreamError
from tests.resilience._helpers import Outcome, free_port, make_harness

FORMATS = ("openai", "anthropic", "gemini")
MAX_ATTEMPTS = 3  # every embedded manifest of these formats says max_retries: 2

matrix = pytest.mark.parametrize(
    ("fmt", "stream"),
    [(f, s) for f in FORMATS for s in (False, True)],
    ids=[f"{f}-{'stream' if s else 'execute'}" for f in FORMATS for s in (False, True)],
)


async def run(emu: ProviderEmulator, fmt: str, stream: bool, *items: object,
              timeout: Timeout | None = None, max_response_bytes: int | None = 64 << 20,
              base_url: str | None = None, text: str = "hello there") -> Outcome:
    harness = await make_harness(emu, fmt, timeout=timeout, base_url=base_url,
                                 max_response_bytes=max_response_bytes)
    emu.enqueue(*items)  # type: ignore[arg-type]
    try:
        out = await harness.call(stream, text)
    finally:
        await harness.client.close()
    out.stats.extra["_sleeps"] = list(harness.time.sleeps)
    return out


def recovered(out: Outcome, emu: ProviderEmulator, attempts: int, text: str = "hello there"
              ) -> None:
    assert out.error is None, repr(out.error)
    assert out.response is not None and out.response.content == f"Echo: {text}"
    assert out.stats.attempts == attempts
    assert len(emu.requests) == attempts
    assert len(out.stats.retry_waits_s) == attempts - 1


def failed(out: Outcome, emu: ProviderEmulator, error: type[Exception], attempts: int,
           requests: int | None = None) -> Exception:
    assert isinstance(out.error, error), repr(out.error)
    assert out.stats.attempts == attempts
    assert len(emu.requests) == (attempts if requests is None else requests)
    return out.error


# -- HTTP statuses ------------------------------------------------------------------------
@matrix
async def test_429_retry_after_seconds(emu: ProviderEmulator, fmt: str, stream: bool) -> None:
    out = await run(emu, fmt, stream, Fault.status(429, retry_after=2))
    recovered(out, emu, 2)
    assert out.stats.retry_waits_s == [2.0]
    assert out.stats.extra["_sleeps"] == [2.0]


@matrix
async def test_429_retry_after_http_date(emu: ProviderEmulator, fmt: str, stream: bool) -> None:
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=4)
    out = await run(emu, fmt, stream, Fault.status(429, retry_after=when))
    recovered(out, emu, 2)
    [wait] = out.stats.retry_waits_s
    assert 2.0 < wait <= 4.0  # the date has whole seconds


@matrix
async def test_429_retry_after_ms(emu: ProviderEmulator, fmt: str, stream: bool) -> None:
    out = await run(emu, fmt, stream, Fault.status(429, retry_after_ms=1500))
    recovered(out, emu, 2)
    assert out.stats.retry_waits_s == [1.5]


@matrix
async def test_429_wait_beyond_cap_is_not_retried(emu: ProviderEmulator, fmt: str,
                                                   stream: bool) -> None:
    out = await run(emu, fmt, stream, Fault.status(429, retry_after=120))
    err = failed(out, emu, ProviderError, 1)
    assert isinstance(err, ProviderError)
    assert err.status == 429 and err.code == "E2001" and err.retry_after == 120.0
    assert out.stats.retry_waits_s == []


# attempts per status: 1 where the manifest's retry_on_http_status leaves it out
STATUS_ATTEMPTS = {
    500: {"openai": 2, "anthropic": 2, "gemini": 2},
    502: {"openai": 2, "anthropic": 2, "gemini": 1},  # gemini: [429, 500, 503, 504]
    503: {"openai": 2, "anthropic": 2, "gemini": 2},
    529: {"openai": 1, "anthropic": 2, "gemini": 1},  # only anthropic lists 529
}


@pytest.mark.parametrize("status", sorted(STATUS_ATTEMPTS))
@matrix
async def test_server_errors(emu: ProviderEmulator, fmt: str, stream: bool, status: int) -> None:
    out = await run(emu, fmt, stream, Fault.status(status))
    attempts = STATUS_ATTEMPTS[status][fmt]
    if attempts == 2:
        recovered(out, emu, 2)
        assert out.stats.extra["failed_attempts"][0]["code"] in ("E3001", "E3002")
    else:
        err = failed(out, emu, ProviderError, 1)
        assert isinstance(err, ProviderError) and err.status == status and err.retryable


@matrix
async def test_persistent_503_exhausts_retries(emu: ProviderEmulator, fmt: str,
                                               stream: bool) -> None:
    emu.set_default(Fault.status(503))
    out = await run(emu, fmt, stream)
    err = failed(out, emu, ProviderError, MAX_ATTEMPTS)
    assert isinstance(err, ProviderError) and err.code == "E3002"
    assert len(out.stats.retry_waits_s) == MAX_ATTEMPTS - 1
    assert out.stats.retry_waits_s == out.stats.extra["_sleeps"]


@matrix
async def test_400_is_not_retried(emu: ProviderEmulator, fmt: str, stream: bool) -> None:
    out = await run(emu, fmt, stream, Fault.status(400))
    err = failed(out, emu, ProviderError, 1)
    assert isinstance(err, ProviderError) and err.code == "E1001"


# -- connections -------------------------------------------------------------------------
@matrix
async def test_connection_refused(emu: ProviderEmulator, fmt: str, stream: bool) -> None:
    prefix = emu.url_for(fmt)[len(emu.base_url):]
    out = await run(emu, fmt, stream, base_url=f"http://127.0.0.1:{free_port()}{prefix}")
    failed(out, emu, ConnectError, MAX_ATTEMPTS, requests=0)
    assert len(out.stats.retry_waits_s) == MAX_ATTEMPTS - 1


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A listening port whose accept queue is full: connecting never completes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    fillers = []
    for _ in range(3):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(s)
    try:
        yield port
    finally:
        for s in fillers:
            s.close()
        server.close()


@matrix
async def test_connect_timeout(emu: ProviderEmulator, blackhole: int, fmt: str,
                               stream: bool) -> None:
    out = await run(emu, fmt, stream, base_url=f"http://127.0.0.1:{blackhole}/v1",
                    timeout=Timeout(connect=0.1, first_token=5, idle=5, total=10))
    failed(out, emu, ConnectTimeoutError, MAX_ATTEMPTS, requests=0)


@matrix
async def test_reset_before_first_event_is_retried(emu: ProviderEmulator, fmt: str,
                                                   stream: bool) -> None:
    # streamed: the headers, then a reset; not streamed: half the body, then a reset
    fault = Fault.disconnect(0) if stream else Fault.disconnect(1)
    out = await run(emu, fmt, stream, fault)
    recovered(out, emu, 2)
    assert out.stats.extra["failed_attempts"][0]["error"] == "ConnectError"


@matrix
async def test_reset_before_any_byte_is_retried(emu: ProviderEmulator, fmt: str,
                                                stream: bool) -> None:
    out = await run(emu, fmt, stream, Fault.disconnect())
    recovered(out, emu, 2)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_reset_after_first_event_surfaces(emu: ProviderEmulator, fmt: str) -> None:
    out = await run(emu, fmt, True, Fault.disconnect(5), text="a longer text to stream here")
    failed(out, emu, ConnectError, 1)
    assert any(isinstance(e, PartialContentDelta) for e in out.events)
    assert out.stats.retry_waits_s == []


# -- in-stream errors and decoding -----------------------------------------------------------
@matrix
async def test_overloaded_inside_200_stream(emu: ProviderEmulator, fmt: str,
                                            stream: bool) -> None:
    # not streamed, the emulator answers the same error as an HTTP status
    out = await run(emu, fmt, stream, Fault.stream_error(0, "overloaded"))
    recovered(out, emu, 2)
    assert not any(isinstance(e, StreamError) for e in out.events)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_overloaded_stream_exhausted_delivers_the_error_event(
        emu: ProviderEmulator, fmt: str) -> None:
    emu.set_default(Fault.stream_error(0, "overloaded"))
    out = await run(emu, fmt, True)
    failed(out, emu, ProviderError, MAX_ATTEMPTS)
    # as on the plain path: the StreamError event, then the error
    assert [type(e) for e in out.events] == [StreamError]


@matrix
async def test_malformed_frame_is_not_retried(emu: ProviderEmulator, fmt: str,
                                              stream: bool) -> None:
    out = await run(emu, fmt, stream, Fault.malformed(1))
    failed(out, emu, StreamDecodeError, 1)


@matrix
async def test_body_larger_than_limit(emu: ProviderEmulator, fmt: str, stream: bool) -> None:
    out = await run(emu, fmt, stream, Reply(text="x" * 8000, chunk_size=400),
                    max_response_bytes=2000)
    err = failed(out, emu, ResponseTooLargeError, 1)
    assert isinstance(err, ResponseTooLargeError) and err.limit == 2000
    assert not err.retryable


# -- the four timeouts ---------------------------------------------------------------------
QUICK = Timeout(connect=2.0, first_token=0.25, idle=0.25, total=5.0)


@matrix
async def test_slow_first_byte_beyond_first_token_timeout(emu: ProviderEmulator, fmt: str,
                                                          stream: bool) -> None:
    out = await run(emu, fmt, stream, Fault.first_byte_delay(2.0), timeout=QUICK)
    recovered(out, emu, 2)
    assert out.stats.extra["failed_attempts"][0]["error"] == "FirstTokenTimeoutError"


@matrix
async def test_persistent_slow_first_byte(emu: ProviderEmulator, fmt: str, stream: bool) -> None:
    emu.set_default(Fault.first_byte_delay(2.0))
    out = await run(emu, fmt, stream, timeout=QUICK)
    failed(out, emu, FirstTokenTimeoutError, MAX_ATTEMPTS)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_stall_after_first_event_beyond_idle_timeout(emu: ProviderEmulator,
                                                           fmt: str) -> None:
    out = await run(emu, fmt, True, Fault.stall(5, 2.0), timeout=QUICK,
                    text="a longer text to stream here")
    failed(out, emu, IdleTimeoutError, 1)
    assert any(isinstance(e, PartialContentDelta) for e in out.events)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_stall_mid_body_beyond_idle_timeout(emu: ProviderEmulator, fmt: str) -> None:
    # not streamed: part of the body, then silence; nothing reached the caller: retried
    stalled = Raw(frames=['{"id": "x", ', '"object": "chat.completion"}'], chunk_delay=2.0)
    out = await run(emu, fmt, False, stalled, timeout=QUICK)
    recovered(out, emu, 2)
    assert out.stats.extra["failed_attempts"][0]["error"] == "IdleTimeoutError"


@matrix
async def test_total_timeout(emu: ProviderEmulator, fmt: str, stream: bool) -> None:
    # streamed: frames 50 ms apart for longer than the total; not streamed: a silent body
    slow = (Reply(text="a slow answer that takes a while", chunk_size=2, chunk_delay=0.05)
            if stream else Fault.stall(0, 2.0))
    # total: well above one loopback call (the retry must fit), below the slow answer
    total = Timeout(connect=2.0, first_token=2.0, idle=2.0, total=0.6)
    out = await run(emu, fmt, stream, slow, timeout=total)
    if stream:  # the deadline passes after the first event: not retried
        failed(out, emu, TotalTimeoutError, 1)
    else:
        recovered(out, emu, 2)
        assert out.stats.extra["failed_attempts"][0]["error"] == "TotalTimeoutError"
