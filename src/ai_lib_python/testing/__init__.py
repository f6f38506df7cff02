"""A provider emulator for tests: real HTTP on loopback, scripted answers, faults.

:class:`ProviderEmulator` speaks the OpenAI chat-completions, Anthropic messages,
Gemini generateContent and Cohere v2 chat wire formats, streamed and not, so the
client under test (this library, or a provider's official SDK) runs its whole HTTP and
parsing path::

    from ai_lib_python.testing import Fault, ProviderEmulator, Reply, ToolCallReply

    async with ProviderEmulator() as emu:
        emu.enqueue(Reply(text="Hi", tool_calls=[ToolCallReply("get_weather", {"city": "Paris"})]))
        emu.enqueue(Fault.status(429, retry_after=2))
        ...  # point the client at emu.url_for("openai") / emu.base_url
        emu.requests[-1].json

It needs nothing beyond the standard library.
"""

from ai_lib_python.testing._emulator import ProviderEmulator, serve
from ai_lib_python.testing._script import (
    Fault,
    Raw,
    RecordedRequest,
    Reply,
    Responder,
    ResponseLog,
    ToolCallReply,
)

__all__ = [
    "Fault",
    "ProviderEmulator",
    "Raw",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ResponseLog",
    "ToolCallReply",
    "serve",
]
