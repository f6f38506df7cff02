"""Streaming: typed events as they arrive, and the assembled response at the end.

    python examples/streaming.py
"""

from __future__ import annotations

import asyncio

from _offline import Offline

from ai_lib_python import (
    AiClient,
    FinalCandidate,
    Metadata,
    PartialContentDelta,
    StreamEnd,
    ThinkingDelta,
)
from ai_lib_python.testing import Reply

MODEL = "anthropic/claude-sonnet-4-5"

STORY = ("A lighthouse keeper counted ships for forty years. On the last night, "
         "the sea counted him back.")


async def main() -> None:
    with Offline(MODEL) as env:
        env.script(Reply(text=STORY, thinking="A very short story, with a twist.",
                         usage=(25, 30), chunk_size=8))
        async with await AiClient.create(MODEL, **env.connect(MODEL)) as client:
            chat = (client.chat().user("Tell a two-sentence story.")
                    .reasoning(budget_tokens=1024).max_tokens(2048))
            thinking = False
            async with chat.stream() as stream:
                async for event in stream:
                    match event:
                        case ThinkingDelta(thinking=text) if text:
                            print(text if thinking else f"(thinking) {text}", end="")
                            thinking = True
                        case PartialContentDelta(content=text):
                            if thinking:
                                print()
                                thinking = False
                            print(text, end="", flush=True)
                        case Metadata(usage=usage) if usage is not None:
                            pass  # usage so far; the final figures are in stream.response
                        case FinalCandidate(finish_reason=reason):
                            print(f"\n[candidate finished: {reason}]")
                        case StreamEnd():
                            print("[stream end]")
            resp = stream.response
    tokens = resp.usage.total_tokens if resp.usage else "?"
    ttft = resp.stats.time_to_first_token_ms or 0.0
    print(f"streamed {len(resp.content)} characters, tokens={tokens}, "
          f"first token after {ttft:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
