"""Routing: several models behind one name, chosen per call by a strategy.

A ``ModelArray`` orders its members for each call (``round_robin``, ``weighted``,
``least_latency``, ``cost`` or ``quality``); members that cannot serve a request or
whose circuit breaker is open go last, and the resilience layer falls back along
that order. Registered under a name, the array is a model id: ``route:<name>``.

    python examples/routing.py
"""

from __future__ import annotations

import asyncio

from _offline import Offline

from ai_lib_python import AiClient
from ai_lib_python.client import Target
from ai_lib_python.routing import ModelArray, register_route
from ai_lib_python.testing import Reply

MEMBERS = ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash"]


async def main() -> None:
    with Offline(*MEMBERS) as env:
        for fmt in ("openai", "anthropic", "gemini"):
            env.script(*[Reply(text=f"Hi from the {fmt} member.")] * 2, format=fmt)
        array = ModelArray([Target(m, **env.connect(m)) for m in MEMBERS],
                           strategy="round_robin")
        register_route("assistants", array)

        async with await AiClient.create("route:assistants") as client:
            for i in range(6):
                resp = await client.chat().user(f"Hello #{i}").execute()
                print(f"call {i}: answered by {resp.stats.target}: {resp.content}")
        for member in array.members:
            state = array.state(member.name)
            latency = f"{state.latency_ms:.0f} ms" if state.latency_ms is not None else "-"
            print(f"{member.name}: {state.calls} calls, {state.failures} failures, "
                  f"latency {latency}")


if __name__ == "__main__":
    asyncio.run(main())
