"""The ``ai-lib`` command."""

from ai_lib_python.cli._main import main

__all__ = ["main"]
