"""The recorded exchanges in tests/data/recorded, one :class:`Recording` per file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ai_lib_python.testing import Raw
from tests.replay._chunks import chunk_plan

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "recorded"
EXPECTED_FILES = 63

# Provider of a recording -> id of the embedded manifest that speaks to it.
MANIFEST_IDS: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "groq": "groq",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "openrouter": "openrouter",
    "cohere": "cohere",
    "ollama": "ollama",
    "cerebras": "cerebras",
    "zai": "zai",
}


@dataclass(frozen=True)
class Recording:
    path: Path
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.path.stem}"

    @property
    def provider(self) -> str:
        return str(self.data["provider"])

    @property
    def manifest_id(self) -> str:
        return MANIFEST_IDS[self.provider]

    @property
    def api(self) -> str:
        return str(self.data["api"])

    @property
    def request(self) -> dict[str, Any]:
        return dict(self.data["request"])

    @property
    def response(self) -> dict[str, Any]:
        return dict(self.data["response"])

    @property
    def expect(self) -> dict[str, Any]:
        return dict(self.data["expect"])

    @property
    def is_stream(self) -> bool:
        return "stream" in self.data["response"]

    @property
    def stream_format(self) -> str | None:
        fmt = self.data["response"].get("stream_format")
        return str(fmt) if fmt is not None else None

    @cached_property
    def model(self) -> str:
        """The model: from the body, or from the URL path (Gemini)."""
        body = self.request.get("body") or {}
        if isinstance(body.get("model"), str):
            return str(body["model"])
        path = str(self.request["url_path"])
        marker = "/models/"
        if marker in path:
            return path.split(marker, 1)[1].split(":", 1)[0]
        raise ValueError(f"{self.id}: no model in the request")

    def body_bytes(self) -> bytes:
        """The recorded response body, exactly as the provider sent it."""
        resp = self.response
        if self.is_stream:
            return str(resp["stream"]).encode("utf-8")
        return json.dumps(resp.get("body"), ensure_ascii=False).encode("utf-8")

    def chunk_sizes(self) -> list[int]:
        """The HTTP chunks a stream is served in (reproducible per recording)."""
        return chunk_plan(self.body_bytes(), self.id)

    def raw(self) -> Raw:
        """The recorded response for the emulator to send byte for byte: a stream as
        many small HTTP chunks (cut inside lines and characters), a body as it is."""
        resp = self.response
        headers = {str(k).lower(): str(v) for k, v in (resp.get("headers") or {}).items()}
        data = self.body_bytes()
        if not self.is_stream:
            return Raw(body=data, status=int(resp["status"]), headers=headers)
        frames, pos = [], 0
        for size in self.chunk_sizes():
            frames.append(data[pos:pos + size])
            pos += size
        return Raw(status=int(resp["status"]), headers=headers, frames=frames)


def load_recordings() -> list[Recording]:
    return [
        Recording(path, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(DATA_DIR.glob("*/*.json"))
    ]
