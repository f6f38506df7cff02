"""The built sdist and wheel install in a fresh virtualenv and work there, and the
version is one number: ``_version.py`` = the wheel's metadata = the CHANGELOG."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from ai_lib_python import __version__

from .conftest import ROOT

CHANGELOG = ROOT / "CHANGELOG.md"
RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+[^\]]*)\] - (\d{4}-\d{2}-\d{2})$", re.M)


def latest_release() -> str:
    text = CHANGELOG.read_text(encoding="utf-8")
    match = RELEASE.search(text)
    assert match is not None, "CHANGELOG.md has no '## [x.y.z] - YYYY-MM-DD' entry"
    return match.group(1)


def test_changelog_is_keep_a_changelog() -> None:
    text = CHANGELOG.read_text(encoding="utf-8")
    assert text.startswith("# Changelog\n")
    assert "## [Unreleased]" in text
    assert text.index("## [Unreleased]") < text.index(f"## [{latest_release()}]")
    sections = set(re.findall(r"^### (\w+)$", text, re.M))
    assert sections <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_version_matches_changelog() -> None:
    assert __version__ == latest_release()


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "AI_PROTOCOL_PATH")
           and not k.endswith("_API_KEY")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the emulator exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the emulator did not start listening")


@pytest.mark.slow
def test_build_install_and_smoke(tmp_path: Path) -> None:
    env = _clean_env()
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True, env=env, timeout=180)
    wheels = list(dist.glob("*.whl"))
    sdists = list(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = wheel.read(meta_name).decode()
    assert f"\nVersion: {__version__}\n" in metadata
    assert "ai_lib_python/py.typed" in names
    assert "ai_lib_python/manifests/openai.yaml" in names
    assert not any(n.startswith(("tests/", "examples/", "docs/")) for n in names)
    with tarfile.open(sdists[0]) as sdist:
        members = {m.split("/", 1)[1] for m in sdist.getnames() if "/" in m}
    for needed in ("pyproject.toml", "README.md", "CHANGELOG.md",
                   "src/ai_lib_python/__init__.py", "src/ai_lib_python/manifests/openai.yaml"):
        assert needed in members, f"{needed} missing from the sdist"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env, timeout=120)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    py, cli = bindir / "python", bindir / "ai-lib"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(wheels[0])],
                   check=True, capture_output=True, env=env, timeout=300)

    def run(*args: str) -> str:
        out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60,
                             cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        return out.stdout

    where = run(str(py), "-c", "import ai_lib_python, ai_lib_python.sync, os;"
                "print(ai_lib_python.__version__, os.path.dirname(ai_lib_python.__file__))")
    version, location = where.split()
    assert version == __version__ and str(venv) in location

    listing = run(str(cli), "providers")
    count = int(re.search(r"^(\d+) providers$", listing, re.M).group(1))  # type: ignore[union-attr]
    assert count >= 22

    port = _free_port()
    emulator = subprocess.Popen([str(cli), "emulator", "--port", str(port)], env=env,
                                cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, emulator)
        answer = run(str(cli), "chat", "openai/gpt-4o", "hi",
                     "--base-url", f"http://127.0.0.1:{port}/v1", "--api-key", "x")
        assert "Echo: hi" in answer
    finally:
        emulator.terminate()
        try:
            emulator.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            emulator.kill()
            emulator.wait(10)
