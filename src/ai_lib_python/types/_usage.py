"""Token usage, normalized across providers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of a call, normalized across providers (cached and reasoning when reported)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None

    @property
    def input_tokens(self) -> int:
        return self.prompt_tokens

    @property
    def output_tokens(self) -> int:
        return self.completion_tokens


def _int(v: object) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v)
    return None


def normalize_usage(raw: object) -> Usage | None:
    """Normalize any provider's usage object.

    OpenAI ``prompt_tokens``/``completion_tokens`` (+ ``*_details``), Anthropic
    ``input_tokens``/``output_tokens`` (+ cache reads/writes, counted in the prompt),
    Gemini ``usageMetadata`` (``promptTokenCount``, ``candidatesTokenCount``,
    ``thoughtsTokenCount`` counted as output), Cohere ``tokens``/``billed_units``.
    """
    if not isinstance(raw, dict):
        return None
    if "tokens" in raw or "billed_units" in raw:  # Cohere v2
        inner = raw.get("tokens") or raw.get("billed_units") or {}
        if isinstance(inner, dict):
            raw = inner
    prompt = _int(raw.get("prompt_tokens"))
    completion = _int(raw.get("completion_tokens"))
    total = _int(raw.get("total_tokens"))
    cached: int | None = None
    reasoning: int | None = None
    if prompt is not None or completion is not None:
        pd = raw.get("prompt_tokens_details")
        if isinstance(pd, dict):
            cached = _int(pd.get("cached_tokens"))
        cd = raw.get("completion_tokens_details")
        if isinstance(cd, dict):
            reasoning = _int(cd.get("reasoning_tokens"))
        if cached is None:
            cached = _int(raw.get("prompt_cache_hit_tokens"))  # DeepSeek
    elif "input_tokens" in raw or "output_tokens" in raw:  # Anthropic, Cohere
        base = _int(raw.get("input_tokens")) or 0
        cache_read = _int(raw.get("cache_read_input_tokens"))
        cache_write = _int(raw.get("cache_creation_input_tokens")) or 0
        prompt = base + (cache_read or 0) + cache_write
        completion = _int(raw.get("output_tokens"))
        cached = cache_read
    elif "promptTokenCount" in raw or "candidatesTokenCount" in raw or "totalTokenCount" in raw:
        prompt = _int(raw.get("promptTokenCount"))
        thoughts = _int(raw.get("thoughtsTokenCount"))
        completion = (_int(raw.get("candidatesTokenCount")) or 0) + (thoughts or 0)
        total = _int(raw.get("totalTokenCount"))
        cached = _int(raw.get("cachedContentTokenCount"))
        reasoning = thoughts
    else:
        return None
    p = prompt or 0
    c = completion or 0
    return Usage(p, c, total if total is not None else p + c, cached, reasoning)
