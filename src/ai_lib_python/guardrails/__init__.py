"""Guardrails: input and output guards on the execution path.

::

    from ai_lib_python.guardrails import Guardrails, KeywordGuard, LengthGuard, PiiGuard

    client = await (AiClient.builder().model("openai/gpt-4o")
                    .with_guardrails(input=[LengthGuard(20_000), PiiGuard()],
                                     output=[PiiGuard(), KeywordGuard(["project x"])])
                    .build())

A guard has an action: ``block`` raises :class:`GuardrailViolation` naming the
rule, ``redact`` replaces what it found (``[REDACTED:email]``), ``warn`` logs it
and records it in ``CallStats.extra["guardrails"]``. Output guards work on
streams as on whole answers: text that may still turn out to be part of a match
is held back, and no more than that.
"""

from ai_lib_python.errors import GuardrailViolation
from ai_lib_python.guardrails._base import Action, Finding, Guard, Outcome, Scanner
from ai_lib_python.guardrails._checks import JsonSchemaGuard, LengthGuard
from ai_lib_python.guardrails._layer import Guardrails
from ai_lib_python.guardrails._pii import PII_KINDS, PiiGuard, luhn_valid
from ai_lib_python.guardrails._span import CustomGuard, KeywordGuard, RegexGuard, SpanGuard

__all__ = [
    "PII_KINDS",
    "Action",
    "CustomGuard",
    "Finding",
    "Guard",
    "GuardrailViolation",
    "Guardrails",
    "JsonSchemaGuard",
    "KeywordGuard",
    "LengthGuard",
    "Outcome",
    "PiiGuard",
    "RegexGuard",
    "Scanner",
    "SpanGuard",
    "luhn_valid",
]
