"""The thread runner for synchronous code, serve() for the CLI, and the public surface."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

import ai_lib_python.testing as testing
from ai_lib_python.testing import Fault, ProviderEmulator, Reply


def test_start_in_thread_serves_sync_clients() -> None:
    emu = ProviderEmulator.start_in_thread(port=0, require_key="k")
    try:
        emu.enqueue(Reply(text="from the main thread"), Fault.status(503))
        with httpx.Client(
            base_url=emu.url_for("openai"), headers={"authorization": "Bearer k"}
        ) as c:
            ok = c.post("/chat/completions", json={"messages": []})
            failed = c.post("/chat/completions", json={"messages": []})
        assert ok.json()["choices"][0]["message"]["content"] == "from the main thread"
        assert failed.status_code == 503
        assert len(emu.requests) == 2
    finally:
        emu.stop()
    with pytest.raises(httpx.ConnectError), httpx.Client() as c:
        c.get(emu.base_url + "/v1/models")


def test_thread_runner_as_context_manager() -> None:
    with ProviderEmulator.start_in_thread() as emu, httpx.Client() as c:
        r = c.post(
            emu.url_for("anthropic") + "/messages",
            json={"messages": [{"role": "user", "content": "x"}]},
        )
        assert r.json()["content"][0]["text"] == "Echo: x"


def test_stop_needs_the_thread_runner() -> None:
    with pytest.raises(RuntimeError):
        ProviderEmulator().stop()


def test_url_for() -> None:
    emu = ProviderEmulator(port=1234)
    assert emu.base_url == "http://127.0.0.1:1234"
    assert emu.url_for("openai") == "http://127.0.0.1:1234/v1"
    assert emu.url_for("deepseek") == "http://127.0.0.1:1234/v1"
    assert emu.url_for("anthropic") == "http://127.0.0.1:1234/v1"
    assert emu.url_for("gemini") == "http://127.0.0.1:1234/v1beta"
    assert emu.url_for("cohere") == "http://127.0.0.1:1234/v2"
    assert emu.url_for("anthropic/claude-sonnet-4-5") == "http://127.0.0.1:1234/v1"


def test_serve_runs_until_interrupted() -> None:
    code = (
        "import sys\n"
        "from ai_lib_python.testing import serve\n"
        "def ready(emu):\n"
        "    sys.stdout.write(emu.base_url + '\\n')\n"
        "    sys.stdout.flush()\n"
        "serve(port=0, on_ready=ready)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        r = httpx.post(
            base_url + "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "cli"}]},
        )
        assert r.json()["choices"][0]["message"]["content"] == "Echo: cli"
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_public_surface_is_documented() -> None:
    assert sorted(testing.__all__) == [
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
    for name in testing.__all__:
        obj = getattr(testing, name)
        if name != "Responder":
            assert obj.__doc__, name
    for name in dir(ProviderEmulator):
        if not name.startswith("_"):
            assert getattr(ProviderEmulator, name).__doc__, name
