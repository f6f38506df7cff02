"""ModelManager: the shipped registry, selection by capability and window, pricing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_lib_python.errors import ConfigurationError
from ai_lib_python.protocol import ProtocolLoader
from ai_lib_python.routing import ModelManager, ModelSpec
from ai_lib_python.types import Usage

SHARED = Path("/work/shared/ai-protocol")


def test_shipped_registry_covers_the_main_providers() -> None:
    mm = ModelManager.default()
    providers = {spec.provider for spec in mm}
    assert {"openai", "anthropic", "gemini", "deepseek", "groq", "mistral"} <= providers
    for spec in mm:
        assert spec.context_window and spec.context_window >= 100_000, spec.id
        assert "text" in spec.capabilities and "streaming" in spec.capabilities, spec.id
        if spec.priced:
            assert spec.input_per_token is not None and spec.output_per_token is not None
            # Prices are per token: a million tokens cost between 1 cent and 100 dollars.
            assert 1e-8 <= spec.input_per_token <= 1e-4, spec.id
            assert spec.output_per_token >= spec.input_per_token, spec.id
            if spec.cached_input_per_token is not None:
                assert spec.cached_input_per_token <= spec.input_per_token, spec.id


def test_lookup_by_id_and_alias() -> None:
    mm = ModelManager.default()
    haiku = mm.require("anthropic/claude-haiku-4-5")
    assert mm.get("anthropic/claude-haiku-4-5-20251001") is haiku
    assert "groq/openai/gpt-oss-120b" in mm
    assert mm.get("openai/no-such-model") is None
    with pytest.raises(ConfigurationError, match="not in the model registry"):
        mm.require("openai/no-such-model")


def test_prices_are_read_per_token() -> None:
    mm = ModelManager.default()
    spec = mm.require("openai/gpt-5.4")
    assert spec.input_per_token == pytest.approx(2.5e-6)
    assert spec.output_per_token == pytest.approx(15e-6)
    # 1,000 prompt tokens (200 of them cached) and 500 output tokens.
    cost = spec.usage_cost(Usage(1000, 500, 1500, cached_tokens=200))
    assert cost == pytest.approx(800 * 2.5e-6 + 200 * 0.25e-6 + 500 * 15e-6)
    assert mm.cost("openai/gpt-5.4", None) is None
    assert mm.cost("openai/unknown", Usage(1, 1, 2)) is None


def test_select_by_capabilities_and_context() -> None:
    mm = ModelManager.default()
    vision_tools = mm.select(capabilities=["tools", "vision"])
    assert vision_tools and all({"tools", "vision"} <= s.capabilities for s in vision_tools)
    assert all(s.status not in ("legacy", "deprecated") for s in vision_tools)
    # Cheapest first, unpriced last.
    priced = [s for s in vision_tools if s.priced]
    costs = [s.cost(1, 256) for s in priced]
    assert costs == sorted(costs)
    big = mm.select(tokens=500_000)
    assert big and all((s.context_window or 0) >= 500_000 for s in big)
    assert all(s.supports(["reasoning"]) for s in mm.select(capabilities=["reasoning"]))
    assert mm.cheapest(capabilities=["tools"], priced=True) is not None
    # function_calling is the same capability as tools.
    assert mm.select(capabilities=["function_calling"]) == mm.select(capabilities=["tools"])


def test_register_from_code() -> None:
    mm = ModelManager()
    spec = mm.register("acme/small", capabilities=["chat", "tools"], context_window=8000,
                       input_per_million=1.0, output_per_million=2.0)
    assert spec.input_per_token == pytest.approx(1e-6)
    assert spec.supports(["tools"], tokens=7000)
    assert not spec.supports(["tools"], tokens=9000)
    assert not spec.supports(["vision"])
    with pytest.raises(ConfigurationError):
        mm.register("no-provider")
    mm.add(ModelSpec("acme", "big", frozenset({"text"})))
    assert len(mm) == 2


def test_reads_official_registry_files_and_v2_metadata() -> None:
    mm = ModelManager()
    loader = ProtocolLoader()
    assert mm.load_registry_file(SHARED / "v1/models/gpt.yaml", loader) >= 3
    assert mm.require("openai/gpt-4o").supports(["vision", "tools"])
    manifest = loader.load_file(SHARED / "v2/providers/deepseek.yaml")
    assert mm.add_manifest(manifest) >= 2
    flash = mm.require("deepseek/deepseek-v4-flash")
    assert flash.context_window == 1048576
    assert flash.input_per_token == pytest.approx(0.14e-6)
    assert flash.cached_input_per_token == pytest.approx(0.0028e-6)
