"""RetryPolicy decisions and the RetryHandler layer alone (time injected)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ai_lib_python.client import CallContext, CancelToken
from ai_lib_python.errors import (
    AiLibError,
    CancelledError,
    CircuitOpenError,
    ConnectError,
    FirstTokenTimeoutError,
    IdleTimeoutError,
    ProviderError,
    ResponseTooLargeError,
    StreamDecodeError,
    TotalTimeoutError,
    provider_error,
)
from ai_lib_python.resilience import RetryHandler, RetryPolicy
from ai_lib_python.types import (
    CallStats,
    ChatRequest,
    ChatResponse,
    Message,
    PartialContentDelta,
    StreamEvent,
)
from tests.resilience._helpers import FakeTime


def err(status: int, retry_after: float | None = None) -> ProviderError:
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    return provider_error(status=status, body={"error": {"message": "x"}}, headers=headers)


# -- the policy ----------------------------------------------------------------------------
def test_only_retryable_codes_are_retried() -> None:
    policy = RetryPolicy(max_retries=2)
    rand = lambda: 0.5  # noqa: E731
    assert policy.next_delay(err(503), 1, rand=rand) is not None
    assert policy.next_delay(err(400), 1, rand=rand) is None
    assert policy.next_delay(err(401), 1, rand=rand) is None
    assert policy.next_delay(err(503), 3, rand=rand) is None  # retries used up


@pytest.mark.parametrize("error", [ConnectError("reset"), FirstTokenTimeoutError("t"),
                                   IdleTimeoutError("t"), TotalTimeoutError("t")])
def test_connection_losses_and_timeouts_are_retryable(error: AiLibError) -> None:
    assert RetryPolicy().next_delay(error, 1, rand=lambda: 0.0) == 1.0


@pytest.mark.parametrize("error", [StreamDecodeError("bad frame"),
                                   ResponseTooLargeError("big", limit=1),
                                   CancelledError("stop")])
def test_decode_errors_and_cancellation_are_not_retried(error: AiLibError) -> None:
    assert RetryPolicy().next_delay(error, 1, rand=lambda: 0.0) is None


def test_backoff_is_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(max_retries=10, min_delay_ms=100, max_delay_ms=1000)
    top = [policy.next_delay(err(500), n, rand=lambda: 1.0) for n in range(1, 6)]
    assert top == [0.1, 0.2, 0.4, 0.8, 1.0]
    assert policy.next_delay(err(500), 4, rand=lambda: 0.5) == 0.4  # half of 0.8
    assert policy.next_delay(err(500), 4, rand=lambda: 0.0) == 0.1  # clamped to min


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retries=2, min_delay_ms=500, max_delay_ms=8000)
    assert policy.retry_after_cap_s == 8.0
    assert policy.next_delay(err(429, 3), 1, rand=lambda: 0.0) == 3.0
    assert policy.next_delay(err(429, 0.1), 1, rand=lambda: 0.0) == 0.5  # at least min
    assert policy.next_delay(err(429, 8.5), 1, rand=lambda: 0.0) is None  # beyond the cap
    longer = RetryPolicy(max_retries=2, max_delay_ms=8000, max_retry_after_ms=60000)
    assert longer.next_delay(err(429, 30), 1, rand=lambda: 0.0) == 30.0
    # delay_s keeps its contract: a retry-after is clamped into [min, cap]
    assert policy.delay_s(1, retry_after=100, rand=lambda: 0.0) == 8.0


def test_manifest_status_list_narrows_retries() -> None:
    policy = RetryPolicy(max_retries=2, retry_on_http_status=(429, 500, 503))
    assert policy.next_delay(err(502), 1, rand=lambda: 0.0) is None
    assert policy.next_delay(err(503), 1, rand=lambda: 0.0) is not None
    # failures without a status (connection lost) are not narrowed
    assert policy.next_delay(ConnectError("x"), 1, rand=lambda: 0.0) is not None


# -- the handler alone -------------------------------------------------------------------------
class Scripted:
    """A handler that fails with the scripted errors, then answers."""

    def __init__(self, *errors: AiLibError, events_before_error: int = 0) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.events_before_error = events_before_error

    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return ChatResponse([])

    async def stream(self, request: ChatRequest,
                     ctx: CallContext) -> AsyncIterator[list[StreamEvent]]:
        self.calls += 1
        if self.errors:
            for _ in range(self.events_before_error):
                yield [PartialContentDelta("x")]
            raise self.errors.pop(0)
        yield [PartialContentDelta("ok")]

    async def aclose(self) -> None:
        pass


REQ = ChatRequest("m", (Message("user", "hi"),))


async def test_handler_retries_with_injected_sleep(fake_time: FakeTime) -> None:
    inner = Scripted(err(503), err(500))
    handler = RetryHandler(inner, RetryPolicy(max_retries=3, min_delay_ms=100),
                           sleep=fake_time.sleep, rand=lambda: 1.0)
    ctx = CallContext(CallStats())
    await handler.execute(REQ, ctx)
    assert inner.calls == 3
    assert fake_time.sleeps == ctx.stats.retry_waits_s == [0.1, 0.2]


async def test_handler_does_not_retry_an_open_breaker(fake_time: FakeTime) -> None:
    inner = Scripted(CircuitOpenError("t", 1.0, now=0.0))
    handler = RetryHandler(inner, RetryPolicy(), sleep=fake_time.sleep)
    with pytest.raises(CircuitOpenError):
        await handler.execute(REQ, CallContext(CallStats()))
    assert inner.calls == 1 and fake_time.sleeps == []


async def test_handler_stops_when_cancelled_during_backoff(fake_time: FakeTime) -> None:
    token = CancelToken()

    async def sleep(seconds: float) -> None:
        token.cancel("stop")

    handler = RetryHandler(Scripted(err(503), err(503)), RetryPolicy(), sleep=sleep)
    with pytest.raises(CancelledError):
        await handler.execute(REQ, CallContext(CallStats(), token))


async def test_stream_retried_only_before_the_first_event(fake_time: FakeTime) -> None:
    before = Scripted(err(503))
    handler = RetryHandler(before, RetryPolicy(), sleep=fake_time.sleep)
    ctx = CallContext(CallStats())
    events = [e async for batch in handler.stream(REQ, ctx) for e in batch]
    assert before.calls == 2 and len(events) == 1

    after = Scripted(err(503), events_before_error=1)
    handler = RetryHandler(after, RetryPolicy(), sleep=fake_time.sleep)
    got: list[StreamEvent] = []
    with pytest.raises(ProviderError):
        async for batch in handler.stream(REQ, CallContext(CallStats())):
            got.extend(batch)
    assert after.calls == 1 and len(got) == 1


async def test_stream_not_retried_once_the_caller_got_an_event(fake_time: FakeTime) -> None:
    inner = Scripted(err(503))
    handler = RetryHandler(inner, RetryPolicy(), sleep=fake_time.sleep)
    ctx = CallContext(CallStats())
    ctx.events_yielded = 1  # an outer layer already delivered something
    with pytest.raises(ProviderError):
        async for _ in handler.stream(REQ, ctx):
            pass
    assert inner.calls == 1
