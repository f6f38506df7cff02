"""The ``ai-lib`` command, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ai_lib_python.cli import main
from ai_lib_python.testing import ProviderEmulator, Reply

KEY = "sk-cli-test-123456"


@pytest.fixture
def emu() -> Iterator[ProviderEmulator]:
    e = ProviderEmulator.start_in_thread(require_key=KEY)
    try:
        yield e
    finally:
        e.stop()


def test_providers_lists_the_embedded_manifests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ids = {r["id"] for r in rows}
    assert len(ids) >= 22
    assert {"openai", "anthropic", "gemini", "deepseek", "groq", "mistral", "cohere",
            "azure-openai", "ollama", "openai-compatible"} <= ids
    anthropic = next(r for r in rows if r["id"] == "anthropic")
    assert anthropic["auth"] == "custom_header" and anthropic["format"] == "anthropic_style"
    assert main(["providers"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:3] == ["id", "format", "auth"]
    assert f"{len(ids)} providers" in table


def test_validate_good_and_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = Path(__file__).resolve().parents[2] / "src/ai_lib_python/manifests/openai.yaml"
    assert main(["validate", str(good)]) == 0
    assert "ok" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nprotocol_version: '1.5'\nendpoint:\n  base_url: https://x\n"
                   "streaming:\n  decoder:\n    format: xml\n")
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "invalid" in out and "streaming.decoder.format" in out


def test_chat_streams_to_the_terminal(emu: ProviderEmulator,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    emu.enqueue(Reply(text="Streaming works.", chunk_size=3))
    code = main(["chat", "openai/gpt-4o", "hello", "--base-url", emu.url_for("openai"),
                 "--api-key", KEY])
    assert code == 0
    assert capsys.readouterr().out == "Streaming works.\n"
    assert emu.requests[-1].json["messages"] == [{"role": "user", "content": "hello"}]


def test_chat_json_output(emu: ProviderEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    emu.enqueue(Reply(text="Four.", usage=(7, 2)))
    code = main(["chat", "anthropic/claude-sonnet-4-5", "2+2?", "--json", "--system", "terse",
                 "--base-url", emu.url_for("anthropic"), "--api-key", KEY])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["content"] == "Four." and data["finish_reason"] == "end_turn"
    assert data["usage"]["prompt_tokens"] == 7
    assert emu.requests[-1].json["system"] == "terse"


def test_chat_errors_are_reported_without_traceback(
        emu: ProviderEmulator, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr("ai_lib_python.transport._credentials._keyring_get",
                        lambda *a, **k: None)
    code = main(["chat", "openai/gpt-4o", "hi", "--base-url", emu.url_for("openai")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "OPENAI_API_KEY" in err


def test_demo_runs_offline() -> None:
    proc = subprocess.run([sys.executable, "-m", "ai_lib_python.cli", "demo"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for model in ("openai/gpt-4o", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash"):
        assert f"== {model}" in out
    assert "model calls get_weather({'city': 'Paris'})" in out
    assert "answer: It is 18 degrees and sunny in Paris." in out
