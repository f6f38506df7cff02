"""``ai-lib demo``: streamed chats through the whole client stack against the built-in
provider emulator, in the three wire formats, then a tool-calling round trip."""

from __future__ import annotations

from typing import TextIO

DEMO_KEY = "demo-key-not-a-secret"


async def run_demo(out: TextIO) -> int:
    from ai_lib_python import (
        AiClient,
        PartialContentDelta,
        ThinkingDelta,
        ToolCallEnded,
        ToolDefinition,
    )
    from ai_lib_python.testing import ProviderEmulator, Reply, ToolCallReply

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    async with ProviderEmulator(require_key=DEMO_KEY) as emu:
        write(f"provider emulator listening on {emu.base_url}\n")
        models = [
            ("openai/gpt-4o", "openai"),
            ("anthropic/claude-sonnet-4-5", "anthropic"),
            ("gemini/gemini-2.5-flash", "gemini"),
        ]
        for model, fmt in models:
            emu.enqueue(Reply(
                text=f"Hello from the {fmt} wire format! Streams arrive as typed events, "
                     "and the assembled response waits at the end.",
                thinking="The user wants a greeting; keep it short." if fmt != "openai" else None,
                usage=(21, 24), chunk_size=6))
            async with await AiClient.create(model, base_url=emu.url_for(fmt),
                                             api_key=DEMO_KEY) as client:
                write(f"\n== {model} ({fmt} wire format) ==\n")
                stream = client.chat().system("Be brief.").user("Say hello.").stream()
                thinking = False
                async with stream:
                    async for event in stream:
                        if isinstance(event, ThinkingDelta) and event.thinking:
                            write(event.thinking if thinking else f"(thinking) {event.thinking}")
                            thinking = True
                        elif isinstance(event, PartialContentDelta):
                            if thinking:
                                write("\n")
                                thinking = False
                            write(event.content)
                resp = stream.response
                usage = resp.usage
                tokens = usage.total_tokens if usage else "?"
                write(f"\n[finish={resp.finish_reason} tokens={tokens}"
                      f" latency={resp.stats.latency_ms:.1f}ms"
                      f" ttft={resp.stats.time_to_first_token_ms or 0:.1f}ms]\n")

        write("\n== tool calling round trip (openai/gpt-4o) ==\n")
        weather = ToolDefinition(
            "get_weather", "Current weather for a city",
            {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
        emu.enqueue(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"})]))
        emu.enqueue(Reply(text="It is 18 degrees and sunny in Paris."))
        async with await AiClient.create("openai/gpt-4o", base_url=emu.url_for("openai"),
                                         api_key=DEMO_KEY) as client:
            chat = client.chat().user("What's the weather in Paris?").tool(weather)
            stream = chat.stream()
            async with stream:
                async for event in stream:
                    if isinstance(event, ToolCallEnded):
                        call = event.tool_call
                        write(f"model calls {call.name}({call.arguments})\n")
            first = stream.response
            answer = await (client.chat().user("What's the weather in Paris?").tool(weather)
                            .assistant(first.content, tool_calls=first.tool_calls)
                            .tool_result(first.tool_calls[0].id, '{"temp_c": 18, "sky": "sunny"}')
                            .execute())
            write(f"answer: {answer.content}\n")
    return 0
