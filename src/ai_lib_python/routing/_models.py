"""ModelManager: what each model can do and what it costs.

Filled from model registry files (the AI-Protocol ``v1/models`` form: ours ship in
``ai_lib_python/manifests/models/``), from the ``metadata.models`` of v2 provider
manifests, and from code. Models are keyed ``provider/model``; capabilities use the
manifest vocabulary (``tools``, ``vision``, ``reasoning``, ...). A capability is off
until the registry says it is on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from ai_lib_python.errors import ConfigurationError
from ai_lib_python.protocol import ModelRegistry, ProtocolLoader, ProtocolManifest
from ai_lib_python.types import Usage

_ALIASES = {"function_calling": "tools", "chat": "text", "embedding": "embeddings"}


def normalize_capabilities(names: Iterable[str]) -> frozenset[str]:
    """Canonical capability names (``function_calling`` is ``tools``, ``chat`` is ``text``)."""
    out: set[str] = set()
    for name in names:
        key = str(name).strip().lower()
        out.add(_ALIASES.get(key, key))
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model: its capabilities, window and price (USD per token; ``None`` = unknown)."""

    provider: str
    model: str
    capabilities: frozenset[str] = frozenset()
    context_window: int | None = None
    max_output_tokens: int | None = None
    input_per_token: float | None = None
    output_per_token: float | None = None
    cached_input_per_token: float | None = None
    display_name: str | None = None
    aliases: tuple[str, ...] = ()
    status: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "capabilities", normalize_capabilities(self.capabilities))

    @property
    def id(self) -> str:
        """``provider/model``."""
        return f"{self.provider}/{self.model}"

    @property
    def priced(self) -> bool:
        return self.input_per_token is not None and self.output_per_token is not None

    def supports(self, capabilities: Iterable[str] = (), *, tokens: int = 0) -> bool:
        """True when every capability is on and ``tokens`` fit the context window."""
        if not normalize_capabilities(capabilities) <= self.capabilities:
            return False
        return not (tokens and self.context_window is not None and tokens > self.context_window)

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float | None:
        """Estimated USD for a call; ``cached_tokens`` are part of ``input_tokens``."""
        if self.input_per_token is None or self.output_per_token is None:
            return None
        cached = min(max(cached_tokens, 0), input_tokens)
        cached_price = (self.cached_input_per_token if self.cached_input_per_token is not None
                        else self.input_per_token)
        return ((input_tokens - cached) * self.input_per_token + cached * cached_price
                + output_tokens * self.output_per_token)

    def usage_cost(self, usage: Usage | None) -> float | None:
        """Estimated USD for a call's reported usage."""
        if usage is None:
            return None
        return self.cost(usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens or 0)


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


class ModelManager:
    """A registry of :class:`ModelSpec` keyed by ``provider/model`` (aliases resolve too).

    >>> mm = ModelManager.default()
    >>> mm.select(capabilities=["tools", "vision"], tokens=300_000)[0].id  # doctest: +SKIP
    'deepseek/...'
    """

    def __init__(self, specs: Iterable[ModelSpec] = ()) -> None:
        self._lock = threading.Lock()
        self._specs: dict[str, ModelSpec] = {}
        self._alias: dict[str, str] = {}
        for spec in specs:
            self.add(spec)

    # -- filling ------------------------------------------------------------------
    @classmethod
    def default(cls) -> ModelManager:
        """A new manager holding the model registry shipped with the package."""
        return cls(_embedded_specs())

    def add(self, spec: ModelSpec) -> ModelSpec:
        """Register (or replace) a model; returns it."""
        with self._lock:
            self._specs[spec.id] = spec
            for alias in spec.aliases:
                self._alias[f"{spec.provider}/{alias}"] = spec.id
        return spec

    def register(self, model_id: str, *, capabilities: Iterable[str] = (),
                 context_window: int | None = None, max_output_tokens: int | None = None,
                 input_per_million: float | None = None,
                 output_per_million: float | None = None,
                 cached_input_per_million: float | None = None) -> ModelSpec:
        """Register a model from code; prices are given per million tokens."""
        provider, _, model = model_id.partition("/")
        if not provider or not model:
            raise ConfigurationError(f"model id {model_id!r} must be 'provider/model'")

        def per_token(v: float | None) -> float | None:
            return None if v is None else v / 1_000_000

        return self.add(ModelSpec(
            provider, model, frozenset(capabilities), context_window, max_output_tokens,
            per_token(input_per_million), per_token(output_per_million),
            per_token(cached_input_per_million)))

    def add_registry(self, registry: ModelRegistry) -> int:
        """Add every model of a ``v1/models`` registry; returns how many."""
        for entry in registry.models.values():
            extra = entry.model_extra or {}
            pricing = entry.pricing
            cached = None
            if pricing is not None:
                cached = _float((pricing.model_extra or {}).get("cached_input_per_token"))
            self.add(ModelSpec(
                provider=entry.provider,
                model=entry.model_id,
                capabilities=frozenset(entry.capabilities),
                context_window=entry.context_window,
                max_output_tokens=_int(extra.get("max_output_tokens")),
                input_per_token=pricing.input_per_token if pricing else None,
                output_per_token=pricing.output_per_token if pricing else None,
                cached_input_per_token=cached,
                display_name=entry.display_name or entry.name,
                aliases=tuple(str(a) for a in extra.get("aliases") or ()),
                status=entry.status,
            ))
        return len(registry.models)

    def load_registry_file(self, path: str | Path,
                           loader: ProtocolLoader | None = None) -> int:
        """Read and add a ``v1/models/*.yaml`` file; returns how many models it held."""
        return self.add_registry((loader or ProtocolLoader()).load_model_registry(path))

    def add_manifest(self, manifest: ProtocolManifest) -> int:
        """Add the models a v2 manifest lists under ``metadata.models``.

        Capabilities come from the model entry when it lists them, else from the
        provider's; a price in ``input_per_1m``/``output_per_1m`` (or per 1k) is read.
        An entry already known (from a registry file) is completed, not replaced.
        """
        count = 0
        for name, info in manifest.models.items():
            caps = frozenset(info.capabilities) or manifest.capabilities
            pricing = info.pricing or {}
            per_in = _per_token(pricing, "input")
            per_out = _per_token(pricing, "output")
            per_cached = _per_token(pricing, "cache_hit_input")
            spec = ModelSpec(manifest.id, name, caps, info.context_window,
                             info.max_output_tokens, per_in, per_out, per_cached,
                             status=info.status)
            known = self.get(spec.id)
            if known is not None:
                spec = replace(
                    known,
                    context_window=known.context_window or spec.context_window,
                    max_output_tokens=known.max_output_tokens or spec.max_output_tokens,
                )
            self.add(spec)
            count += 1
        return count

    # -- lookup -------------------------------------------------------------------
    def get(self, model_id: str) -> ModelSpec | None:
        """The model ``provider/model`` (or one of its aliases), or None."""
        spec = self._specs.get(model_id)
        if spec is None:
            target = self._alias.get(model_id)
            spec = self._specs.get(target) if target is not None else None
        return spec

    def require(self, model_id: str) -> ModelSpec:
        spec = self.get(model_id)
        if spec is None:
            raise ConfigurationError(
                f"model {model_id!r} is not in the model registry",
                hint="add it with ModelManager.register(...) or a registry file")
        return spec

    def __contains__(self, model_id: object) -> bool:
        return isinstance(model_id, str) and self.get(model_id) is not None

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(list(self._specs.values()))

    def __len__(self) -> int:
        return len(self._specs)

    def select(self, *, capabilities: Iterable[str] = (), tokens: int = 0,
               providers: Iterable[str] | None = None, priced: bool = False,
               include_status: Iterable[str] | None = None) -> list[ModelSpec]:
        """Models with every capability whose window fits ``tokens``, cheapest first.

        ``priced`` keeps only models with a known price; unpriced ones otherwise come
        last. ``include_status`` limits to given statuses (default: all but ``legacy``
        and ``deprecated``).
        """
        wanted = normalize_capabilities(capabilities)
        allowed = set(providers) if providers is not None else None
        statuses = set(include_status) if include_status is not None else None
        out: list[ModelSpec] = []
        for spec in self:
            if allowed is not None and spec.provider not in allowed:
                continue
            if statuses is not None:
                if spec.status not in statuses:
                    continue
            elif spec.status in ("legacy", "deprecated"):
                continue
            if priced and not spec.priced:
                continue
            if spec.supports(wanted, tokens=tokens):
                out.append(spec)
        return sorted(out, key=lambda s: _price_key(s, tokens))

    def cheapest(self, **criteria: Any) -> ModelSpec | None:
        """The first model :meth:`select` returns, or None."""
        found = self.select(**criteria)
        return found[0] if found else None

    def cost(self, model_id: str, usage: Usage | None) -> float | None:
        """Estimated USD of ``usage`` on ``model_id`` (None when the price is unknown)."""
        spec = self.get(model_id)
        return spec.usage_cost(usage) if spec is not None else None


def _price_key(spec: ModelSpec, tokens: int) -> tuple[int, float, str]:
    if not spec.priced:
        return (1, 0.0, spec.id)
    # A nominal call: the prompt plus a quarter as much output (at least 256 tokens).
    cost = spec.cost(max(tokens, 1), max(tokens // 4, 256)) or 0.0
    return (0, cost, spec.id)


def _per_token(pricing: Mapping[str, Any], kind: str) -> float | None:
    per_m = _float(pricing.get(f"{kind}_per_1m"))
    if per_m is not None:
        return per_m / 1_000_000
    per_k = _float(pricing.get(f"{kind}_per_1k_tokens") or pricing.get(f"{kind}_per_1k"))
    if per_k is not None:
        return per_k / 1_000
    return _float(pricing.get(f"{kind}_per_token"))


_embedded: tuple[ModelSpec, ...] | None = None
_embedded_lock = threading.Lock()


def _embedded_specs() -> tuple[ModelSpec, ...]:
    """The shipped registry files, parsed once per process."""
    global _embedded
    with _embedded_lock:
        if _embedded is None:
            manager = ModelManager()
            loader = ProtocolLoader()
            root = resources.files("ai_lib_python.manifests").joinpath("models")
            for entry in sorted(root.iterdir(), key=lambda e: e.name):
                if entry.name.endswith((".yaml", ".yml", ".json")):
                    with resources.as_file(entry) as path:
                        manager.load_registry_file(path, loader)
            _embedded = tuple(manager)
        return _embedded
