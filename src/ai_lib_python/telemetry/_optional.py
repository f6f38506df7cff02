"""Imports of the optional ``telemetry`` extra, with one clear error when it is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from ai_lib_python.errors import ConfigurationError

INSTALL_HINT = "pip install ai-lib-python[telemetry]"


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature`` or raise ConfigurationError naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigurationError(
            f"{feature} needs the '{module.split('.')[0]}' package, which is not installed",
            hint=INSTALL_HINT,
        ) from None
