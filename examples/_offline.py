"""Lets every example run without an API key.

When the provider's key is not set (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ...),
an example starts the library's provider emulator on loopback and scripts the
answers it should get; with the key set, the same code talks to the real provider
and the scripted answers are ignored. In your own code you need none of this:
``AiClient.create("openai/gpt-4o")`` reads the key from the environment.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import TypedDict

from ai_lib_python import AiClient, AiClientBuilder
from ai_lib_python.protocol import ProtocolLoader
from ai_lib_python.testing import Fault, ProviderEmulator, Reply

EMULATOR_KEY = "emulator-key"


class Connection(TypedDict, total=False):
    """Keyword arguments for ``AiClient.create``: empty for the real provider."""

    base_url: str
    api_key: str


def has_key(model: str) -> bool:
    """Whether the API key of ``model``'s provider is set in the environment."""
    manifest = ProtocolLoader().load_provider_sync(model.split("/", 1)[0])
    return any(os.environ.get(name) for name in manifest.auth.token_envs)


class Offline:
    """``with Offline(*models) as env:`` starts the emulator if a model has no key."""

    def __init__(self, *models: str) -> None:
        self.offline = {m for m in models if not has_key(m)}
        self.emulator: ProviderEmulator | None = None

    def __enter__(self) -> Offline:
        if self.offline:
            self.emulator = ProviderEmulator.start_in_thread()
            print(f"(no API key set: answering from the provider emulator at "
                  f"{self.emulator.base_url})")
        return self

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.emulator is not None:
            self.emulator.stop()

    def connect(self, model: str) -> Connection:
        """Where ``model`` is served: nothing to add for the real provider, else the
        emulator's URL for that provider's wire format and a placeholder key."""
        if self.emulator is None or model not in self.offline:
            return {}
        return {"base_url": self.emulator.url_for(model.split("/", 1)[0]),
                "api_key": EMULATOR_KEY}

    def builder(self, model: str) -> AiClientBuilder:
        """``AiClient.builder().model(model)``, pointed at the emulator when offline."""
        builder = AiClient.builder().model(model)
        connection = self.connect(model)
        base_url, api_key = connection.get("base_url"), connection.get("api_key")
        if base_url and api_key:
            builder.base_url(base_url).api_key(api_key)
        return builder

    def script(self, *answers: Reply | Fault, format: str | None = None) -> None:
        """Queue the emulator's next answers (only used when offline)."""
        if self.emulator is not None:
            self.emulator.enqueue(*answers, format=format)
