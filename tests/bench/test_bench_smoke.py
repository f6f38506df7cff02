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
    # The telemetry rows, when the telemetry extra is installed: the full layer, each sink
    # alone, and a caller's bare span per call (each verified: spans exported and calls
    # counted match the calls made).
    probe = "import ai_lib_python.telemetry, opentelemetry.sdk, prometheus_client"
    telemetry = subprocess.run([sys.executable, "-c", probe],
                               capture_output=True).returncode == 0
    for label in ("seq, telemetry on", "stream, telemetry on", "seq, metrics only",
                  "seq, tracing only", "caller's bare OTel span per call"):
        assert (label in out) == telemetry, label
    assert "every workload ran and verified its output" in out
