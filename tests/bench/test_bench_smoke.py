"""The benchmark workloads run and verify their own output (no timing is judged)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmarks_run_in_smoke_mode() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for label in ("seq:", "stream openai", "stream anthropic", "stream gemini", "concurrent",
                  "pipeline only", "import: ms"):
        assert label in out
    assert "every workload ran and verified its output" in out
