"""A separate OS process for the shared-state tests (``python -m tests.resilience._redis_worker``).

``limit``: make as many calls as the shared limit allows from a start time (read from
stdin after printing ``ready``; one warm-up call before that) for a duration; print the
number made as JSON.
``breaker``: call a failing target until its shared breaker opens; print the state.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from ai_lib_python import AiClient
from ai_lib_python.errors import AiLibError, CircuitOpenError
from ai_lib_python.resilience import RedisBackend

KEY = "test-key-123456"


async def limit(redis_url: str, base_url: str, prefix: str, rps: float, burst: int,
                duration: float, tasks: int) -> dict[str, object]:
    backend = RedisBackend(redis_url, prefix=prefix)
    client = await (AiClient.builder().model("openai/gpt-4o").api_key(KEY).base_url(base_url)
                    .with_retry(0).with_rate_limit(rps, burst=burst, max_wait_s=duration + 5)
                    .with_state_backend(backend).build())
    await client.chat().user("warm up").execute()  # before the window: imports, script load
    print("ready", flush=True)
    start_at = float(await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline))
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    deadline = start_at + duration
    made = 0
    errors = 0

    async def loop() -> None:
        nonlocal made, errors
        while time.monotonic() < deadline:
            try:
                await client.chat().user("x").execute()
                made += 1
            except AiLibError:
                errors += 1

    workers = [asyncio.ensure_future(loop()) for _ in range(tasks)]
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    await client.close()
    await backend.aclose()
    return {"made": made, "errors": errors, "counters": dict(backend.counters)}


async def breaker(redis_url: str, base_url: str, prefix: str) -> dict[str, object]:
    backend = RedisBackend(redis_url, prefix=prefix)
    client = await (AiClient.builder().model("openai/gpt-4o").api_key(KEY).base_url(base_url)
                    .with_retry(0).with_circuit_breaker(2, recovery_s=60)
                    .with_state_backend(backend).build())
    calls = 0
    result = "closed"
    for _ in range(5):
        calls += 1
        try:
            await client.chat().user("x").execute()
        except CircuitOpenError:
            result = "open"
            break
        except AiLibError:
            continue
    await client.close()
    await backend.aclose()
    return {"breaker": result, "calls": calls}


def main() -> None:
    mode, *args = sys.argv[1:]
    if mode == "limit":
        url, base, prefix, rps, burst, duration, tasks = args
        out = asyncio.run(limit(url, base, prefix, float(rps), int(burst), float(duration),
                                int(tasks)))
    elif mode == "breaker":
        out = asyncio.run(breaker(*args))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
