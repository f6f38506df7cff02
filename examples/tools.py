"""A tool-calling loop: the model asks, Python runs the functions, the model answers.

Tools are plain typed functions; their JSON Schema comes from the signature.

    python examples/tools.py
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, Literal

from _offline import Offline

from ai_lib_python import AiClient, Message, ToolDefinition
from ai_lib_python.testing import Reply, ToolCallReply

MODEL = "openai/gpt-4o"


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, Any]:
    """Current weather for a city."""
    return {"city": city, "temperature": 18 if unit == "celsius" else 64, "sky": "sunny"}


def get_time(timezone: str) -> str:
    """Current local time in an IANA time zone such as Europe/Paris."""
    return "14:05"


TOOLS: dict[str, Callable[..., Any]] = {"get_weather": get_weather, "get_time": get_time}


async def main() -> None:
    with Offline(MODEL) as env:
        env.script(
            Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}),
                              ToolCallReply("get_time", {"timezone": "Europe/Paris"})]),
            Reply(text="In Paris it is 14:05, 18 °C and sunny."),
        )
        async with await AiClient.create(MODEL, **env.connect(MODEL)) as client:
            messages = [Message.user("What's the weather and the time in Paris?")]
            definitions = [ToolDefinition.from_function(fn) for fn in TOOLS.values()]
            for _ in range(5):  # a bound on the round trips
                resp = await client.chat().messages(messages).tools(definitions).execute()
                messages.append(resp.message)  # the assistant turn, tool calls included
                if not resp.tool_calls:
                    break
                for call in resp.tool_calls:
                    result = TOOLS[call.name](**call.arguments)
                    print(f"tool {call.name}({call.arguments}) -> {result}")
                    messages.append(Message.tool(call.id, json.dumps(result), name=call.name))
    print(f"answer: {resp.content}")


if __name__ == "__main__":
    asyncio.run(main())
