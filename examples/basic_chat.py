"""Basic chat: one question, one answer, and what the call cost.

    python examples/basic_chat.py
"""

from __future__ import annotations

import asyncio

from _offline import Offline

from ai_lib_python import AiClient
from ai_lib_python.testing import Reply

MODEL = "openai/gpt-4o"


async def main() -> None:
    with Offline(MODEL) as env:
        env.script(Reply(text="2 + 2 = 4.", usage=(18, 7)))
        async with await AiClient.create(MODEL, **env.connect(MODEL)) as client:
            resp = await (client.chat()
                          .system("Answer in one short sentence.")
                          .user("What is 2 + 2?")
                          .temperature(0)
                          .execute())
    print(f"answer: {resp.content}")
    print(f"finish reason: {resp.finish_reason}")
    if resp.usage is not None:
        print(f"tokens: {resp.usage.prompt_tokens} in, {resp.usage.completion_tokens} out")
    print(f"latency: {resp.stats.latency_ms:.0f} ms from {resp.stats.provider}/{resp.stats.model}")


if __name__ == "__main__":
    asyncio.run(main())
