"""The synchronous facade, for scripts and notebooks: the same API without ``await``.

It runs on one private event loop thread, so it also works inside Jupyter, where an
event loop is already running.

    python examples/sync_quickstart.py
"""

from __future__ import annotations

from _offline import Offline

from ai_lib_python import PartialContentDelta
from ai_lib_python.sync import AiClient
from ai_lib_python.testing import Reply

MODEL = "openai/gpt-4o-mini"


def main() -> None:
    with Offline(MODEL) as env:
        env.script(Reply(text="Paris."), Reply(text="Rivers, bridges, and light.", chunk_size=5))
        with AiClient.create(MODEL, **env.connect(MODEL)) as client:
            resp = client.chat().user("Capital of France? One word.").execute()
            print(f"answer: {resp.content}")

            with client.chat().user("Describe it in four words.").stream() as stream:
                for event in stream:
                    if isinstance(event, PartialContentDelta):
                        print(event.content, end="", flush=True)
            print(f"\n[{stream.response.finish_reason}, "
                  f"{stream.response.stats.latency_ms:.0f} ms]")


if __name__ == "__main__":
    main()
