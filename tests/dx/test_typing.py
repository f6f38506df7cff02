"""The public API is typed: mypy (strict) accepts the examples, which use it the way
users do, and pyright (basic mode, ``[tool.pyright]`` in pyproject.toml) accepts the
package and the examples. ``make lint`` runs mypy strict on the package itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

BIN = Path(sys.executable).parent


def test_examples_pass_mypy_strict() -> None:
    out = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
                          "examples"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pyright", path=str(BIN)) is None,
                    reason="pyright is not installed (the dev extra)")
def test_package_and_examples_pass_pyright() -> None:
    out = subprocess.run([str(BIN / "pyright"), "--pythonpath", sys.executable], cwd=ROOT,
                         capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-2000:]


def test_examples_and_scripts_pass_ruff() -> None:
    ruff = shutil.which("ruff", path=str(BIN)) or "ruff"
    out = subprocess.run([ruff, "check", "examples", "scripts"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
