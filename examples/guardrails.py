"""Guardrails: redact personal data before it leaves, block what must not come back.

Input guards run before the request is sent; output guards check the answer, on
streams too (text that may still become a match is held back, no more). ``block``
raises ``GuardrailViolation``, ``redact`` replaces the match, ``warn`` records it in
``resp.stats.extra["guardrails"]``.

    python examples/guardrails.py
"""

from __future__ import annotations

import asyncio

from _offline import Offline

from ai_lib_python.errors import GuardrailViolation
from ai_lib_python.guardrails import KeywordGuard, LengthGuard, PiiGuard
from ai_lib_python.testing import Reply

MODEL = "openai/gpt-4o-mini"


async def main() -> None:
    with Offline(MODEL) as env:
        env.script(Reply(text="I have noted your address."),
                   Reply(text="Sure! The launch codename is Project Bluebird.", chunk_size=6))
        client = await (env.builder(MODEL)
                        .with_guardrails(
                            input=[LengthGuard(10_000), PiiGuard(action="redact")],
                            output=[KeywordGuard(["project bluebird"], action="block")])
                        .build())
        async with client:
            resp = await client.chat().user(
                "Please email me at jane.doe@example.com when it ships.").execute()
            print(f"answer: {resp.content}")
            if env.emulator is not None:
                sent = env.emulator.last_request.json["messages"][0]["content"]
                print(f"the provider saw: {sent}")
            try:
                async with client.chat().user("What is the launch codename?").stream() as s:
                    async for _ in s:
                        pass
            except GuardrailViolation as exc:
                print(f"blocked: rule={exc.rule} direction={exc.direction} kind={exc.kind}")


if __name__ == "__main__":
    asyncio.run(main())
