"""Retry and fallback: ride out a flaky provider, then switch to another one.

The primary model answers 503 (overloaded) three times. The client retries it with
backoff, then falls back to the next model; the response says who answered and
after how many attempts. ``production_ready()`` adds a circuit breaker, a rate
limiter that follows the provider's headers, backpressure and timeouts.

    python examples/fallback_retry.py
"""

from __future__ import annotations

import asyncio

from _offline import Offline

from ai_lib_python import AiLibError
from ai_lib_python.client import Target
from ai_lib_python.testing import Fault, Reply

PRIMARY = "openai/gpt-4o"
FALLBACK = "anthropic/claude-sonnet-4-5"


async def main() -> None:
    with Offline(PRIMARY, FALLBACK) as env:
        overloaded = Fault.status(503, message="The server is overloaded.")
        env.script(overloaded, overloaded, overloaded, format="openai")
        env.script(Reply(text="Hello from the fallback model."), format="anthropic")

        # In your code: AiClient.builder().model(PRIMARY)...
        client = await (env.builder(PRIMARY)
                        .with_retry(2, min_delay_ms=100, max_delay_ms=500)
                        .with_fallbacks([Target(FALLBACK, **env.connect(FALLBACK))])
                        .production_ready()
                        .build())
        async with client:
            try:
                resp = await client.chat().user("Say hello.").execute()
            except AiLibError as exc:  # AllTargetsFailedError when every model failed
                print(f"failed: {type(exc).__name__} {exc.code} retryable={exc.retryable}")
                return
    stats = resp.stats
    print(f"answer: {resp.content}")
    print(f"answered by {stats.provider}/{stats.model} after {stats.attempts} attempts; "
          f"waited {sum(stats.retry_waits_s):.2f}s between retries")


if __name__ == "__main__":
    asyncio.run(main())
