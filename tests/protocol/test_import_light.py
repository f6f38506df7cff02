"""Importing the protocol package stays light: heavy optional modules load on use."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("fastjsonschema", "jsonpath_ng", "watchdog", "keyring")


def test_import_does_not_pull_heavy_modules() -> None:
    code = (
        "import sys, ai_lib_python.protocol, ai_lib_python.resilience;"
        "import ai_lib_python.transport._credentials;"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
