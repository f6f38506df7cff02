"""Models that write tool calls as text: a manifest declaring
``capabilities.tool_calling.text_fallback`` gets them parsed into tool_calls."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from ai_lib_python import AiClient
from ai_lib_python.protocol import ProtocolLoader
from ai_lib_python.testing import ProviderEmulator, Reply
from tests._support import KEY

TEXT = ('Let me check. <tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}'
        '</tool_call>')


def _manifest(text_fallback: bool) -> Any:
    data = yaml.safe_load(resources.files("ai_lib_python.manifests").joinpath(
        "openai.yaml").read_text())
    caps: dict[str, Any] = {"required": ["text", "streaming", "tools"]}
    if text_fallback:
        caps["tool_calling"] = {"native": {"supported": True, "reliability": "partial"},
                                "text_fallback": {"format": "xml_json", "wrapper": "tool_call"}}
    data["capabilities"] = caps
    return ProtocolLoader.from_dict(data, source="test")


@pytest.mark.parametrize("stream", [False, True])
async def test_text_tool_calls_are_parsed(emu: ProviderEmulator, stream: bool) -> None:
    emu.enqueue(Reply(text=TEXT, chunk_size=7))
    async with await AiClient.create("openai/m", base_url=emu.url_for("openai"), api_key=KEY,
                                     manifest=_manifest(True), max_retries=0) as client:
        chat = client.chat().user("weather in Paris?")
        resp = await (chat.stream().collect() if stream else chat.execute())
    assert [(c.name, c.arguments) for c in resp.tool_calls] == [("get_weather",
                                                                 {"city": "Paris"})]
    assert resp.content == "Let me check."
    assert resp.finish_reason == "tool_use"


async def test_without_the_declaration_text_stays_text(emu: ProviderEmulator) -> None:
    emu.enqueue(Reply(text=TEXT))
    async with await AiClient.create("openai/m", base_url=emu.url_for("openai"), api_key=KEY,
                                     manifest=_manifest(False), max_retries=0) as client:
        resp = await client.chat().user("weather?").execute()
    assert resp.tool_calls == [] and resp.content == TEXT
