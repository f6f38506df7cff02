"""Every example runs offline (against the provider emulator, with no API key in the
environment) and prints what it is meant to show."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT

EXAMPLES = ROOT / "examples"

# example -> a line its output must contain
EXPECTED = {
    "basic_chat.py": "answer: 2 + 2 = 4.",
    "streaming.py": "tokens=55",
    "tools.py": "answer: In Paris it is 14:05, 18 °C and sunny.",
    "images.py": "sent parts: text, image_url, image_url",
    "structured_output.py": "title=Arrival year=2016 director=Denis Villeneuve",
    "fallback_retry.py": "answered by anthropic/claude-sonnet-4-5 after 4 attempts",
    "routing.py": "call 2: answered by gemini/gemini-2.5-flash",
    "telemetry_prometheus.py": 'ai_lib_requests_total{error_code="E1001"',
    "embeddings_search.py": "4 documents, 16 dimensions",
    "batch_jsonl.py": "3 items: 3 succeeded, 0 failed; rerun skipped 3",
    "guardrails.py": "blocked: rule=keywords direction=output kind=keyword",
    "testing_with_emulator.py": "6 passed",
    "sync_quickstart.py": "answer: Paris.",
}


def offline_env() -> dict[str, str]:
    """The environment without any provider key, so every example uses the emulator."""
    from ai_lib_python.protocol import ProtocolLoader

    loader = ProtocolLoader(env={})
    key_vars = {v for pid in loader.list_providers()
                for v in loader.load_provider_sync(pid).auth.token_envs}
    env = {k: v for k, v in os.environ.items()
           if k not in key_vars and not k.endswith(("_API_KEY", "_API_TOKEN"))
           and k not in ("AI_PROTOCOL_PATH", "PYTHONPATH")}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def test_every_example_is_checked() -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_offline(name: str) -> None:
    out = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True,
                         text=True, encoding="utf-8", env=offline_env(), cwd=ROOT, timeout=90)
    assert out.returncode == 0, out.stdout + out.stderr
    assert EXPECTED[name] in out.stdout, out.stdout
    if name != "testing_with_emulator.py":
        assert "provider emulator" in out.stdout  # it really ran offline


def test_examples_are_listed_in_the_docs() -> None:
    page = (ROOT / "docs" / "examples.md").read_text(encoding="utf-8")
    missing = [name for name in EXPECTED if f"examples/{name}" not in page]
    assert missing == []
