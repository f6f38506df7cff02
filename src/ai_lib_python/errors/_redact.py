"""Masking of registered secrets in any text the library renders."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
MASK = "***"


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that it is masked in every error message and log line."""
    global _secrets
    if not value or len(value) < 6:
        return
    with _lock:
        _secrets = _secrets | {value}


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``***``."""
    secrets = _secrets
    if not secrets:
        return text
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    return text
