"""PII: e-mail addresses, phone numbers, payment card numbers (Luhn-checked) and
API-key-like strings (``sk-...``, ``AKIA...``, ``ghp_...``, ``AIza...``, ``xox?-...``).

Every pattern is bounded and uses ASCII classes only, so a stream scanner knows
exactly which characters can continue a match (see ``_span``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

from ai_lib_python.errors import ConfigurationError
from ai_lib_python.guardrails._base import Action
from ai_lib_python.guardrails._span import SpanGuard

_ALNUM = string.ascii_letters + string.digits

# kind -> (pattern, characters a match consists of, longest match)
PII_KINDS: dict[str, tuple[str, str, int]] = {
    "email": (
        r"[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}",
        _ALNUM + "._%+-@", 64 + 1 + 8 * 64 + 24,
    ),
    "card": (
        r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])",
        string.digits + " -", 19 + 18,
    ),
    "phone": (
        r"(?<![0-9A-Za-z])(?:"
        r"\+[0-9]{1,3}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{1,4}(?:[ .-]?[0-9]{2,4}){2,4}"
        r"|(?:\([0-9]{3}\)[ .-]?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}"
        r")(?![0-9])",
        string.digits + "+()-. ", 1 + 3 + 1 + 6 + 1 + 4 + 4 * 5,
    ),
    "api_key": (
        r"(?<![A-Za-z0-9_-])(?:sk-[A-Za-z0-9_-]{20,200}|(?:AKIA|ASIA)[A-Z0-9]{16}"
        r"|gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244}"
        r"|AIza[A-Za-z0-9_-]{35}|xox[abposr]-[A-Za-z0-9-]{10,200})",
        _ALNUM + "_-", 11 + 244,
    ),
}
DEFAULT_KINDS = ("email", "card", "phone", "api_key")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


class PiiGuard(SpanGuard):
    """Finds personal data and credentials; redacts them by default.

    ``kinds`` picks from ``email``, ``card``, ``phone``, ``api_key``. A redaction
    reads ``[REDACTED:email]`` (``replacement`` may use ``{kind}``). Card numbers
    count only when their Luhn checksum holds.
    """

    def __init__(self, kinds: Iterable[str] = DEFAULT_KINDS, *, name: str = "pii",
                 action: Action = "redact", replacement: str = "[REDACTED:{kind}]") -> None:
        chosen = tuple(dict.fromkeys(kinds))
        unknown = [k for k in chosen if k not in PII_KINDS]
        if unknown or not chosen:
            raise ConfigurationError(
                f"unknown PII kinds {unknown}" if unknown else "PiiGuard needs a kind",
                hint=f"choose from {sorted(PII_KINDS)}")
        source = "|".join(f"(?P<{k}>{PII_KINDS[k][0]})" for k in chosen)
        tails = [(PII_KINDS[k][1], PII_KINDS[k][2] + 1) for k in chosen]
        super().__init__(name, action, re.compile(source), replacement=replacement,
                         tails=tails, kind="pii")
        self.kinds = chosen

    def kind_of(self, match: re.Match[str]) -> str | None:
        kind = match.lastgroup
        if kind == "card":
            digits = "".join(ch for ch in match.group() if ch.isdigit())
            if not luhn_valid(digits):
                return None
        return kind
