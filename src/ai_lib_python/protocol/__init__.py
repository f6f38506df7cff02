"""AI-Protocol manifests: models, loader, validator and the expression language.

A provider is data: :class:`ProtocolLoader` finds its manifest (code, then
``AI_PROTOCOL_PATH``, then the manifests shipped in the package), validates it and
returns an immutable :class:`ProtocolManifest`. The runtime reads a manifest only
through the normalized accessors (``auth``, ``endpoint(op)``, ``parameter_map``,
``streaming`` ...), never through the raw sections.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Loaded on first use: the manifest models need pydantic, which the per-chunk
# expression language and `import ai_lib_python` do not.
_EXPORTS: dict[str, str] = {
    'AccumulatorSpec': 'ai_lib_python.protocol._models',
    'AuthSpec': 'ai_lib_python.protocol._models',
    'AvailabilitySpec': 'ai_lib_python.protocol._models',
    'CandidateSpec': 'ai_lib_python.protocol._models',
    'CheckSpec': 'ai_lib_python.protocol._models',
    'CompiledPath': 'ai_lib_python.protocol._expr',
    'DecoderSpec': 'ai_lib_python.protocol._models',
    'ENV_VAR': 'ai_lib_python.protocol._loader',
    'EndpointSpec': 'ai_lib_python.protocol._models',
    'EventRule': 'ai_lib_python.protocol._models',
    'MISSING': 'ai_lib_python.protocol._expr',
    'ModelEntry': 'ai_lib_python.protocol._models',
    'ModelInfo': 'ai_lib_python.protocol._models',
    'ModelRegistry': 'ai_lib_python.protocol._models',
    'MultiCandidateSpec': 'ai_lib_python.protocol._models',
    'ProtocolLoader': 'ai_lib_python.protocol._loader',
    'ProtocolManifest': 'ai_lib_python.protocol._models',
    'ProviderContract': 'ai_lib_python.protocol._models',
    'RetrySpec': 'ai_lib_python.protocol._models',
    'StreamingSpec': 'ai_lib_python.protocol._models',
    'UrlCache': 'ai_lib_python.protocol._cache',
    'ValidationReport': 'ai_lib_python.protocol._validator',
    'Validator': 'ai_lib_python.protocol._validator',
    'capability_for_operation': 'ai_lib_python.protocol._models',
    'capability_tiers': 'ai_lib_python.protocol._models',
    'compile_condition': 'ai_lib_python.protocol._expr',
    'compile_path': 'ai_lib_python.protocol._expr',
    'default_cache_dir': 'ai_lib_python.protocol._cache',
    'derive_feature_flags': 'ai_lib_python.protocol._models',
    'document_ref_resolutions': 'ai_lib_python.protocol._validator',
    'load_contract': 'ai_lib_python.protocol._validator',
    'validate_path': 'ai_lib_python.protocol._validator',
}

__all__ = [
    "ENV_VAR",
    "MISSING",
    "AccumulatorSpec",
    "AuthSpec",
    "AvailabilitySpec",
    "CandidateSpec",
    "CheckSpec",
    "CompiledPath",
    "DecoderSpec",
    "EndpointSpec",
    "EventRule",
    "ModelEntry",
    "ModelInfo",
    "ModelRegistry",
    "MultiCandidateSpec",
    "ProtocolLoader",
    "ProtocolManifest",
    "ProviderContract",
    "RetrySpec",
    "StreamingSpec",
    "UrlCache",
    "ValidationReport",
    "Validator",
    "capability_for_operation",
    "capability_tiers",
    "compile_condition",
    "compile_path",
    "default_cache_dir",
    "derive_feature_flags",
    "document_ref_resolutions",
    "load_contract",
    "validate_path",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ai_lib_python.protocol' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from ai_lib_python.protocol._cache import (
        UrlCache as UrlCache,
    )
    from ai_lib_python.protocol._cache import (
        default_cache_dir as default_cache_dir,
    )
    from ai_lib_python.protocol._expr import (
        MISSING as MISSING,
    )
    from ai_lib_python.protocol._expr import (
        CompiledPath as CompiledPath,
    )
    from ai_lib_python.protocol._expr import (
        compile_condition as compile_condition,
    )
    from ai_lib_python.protocol._expr import (
        compile_path as compile_path,
    )
    from ai_lib_python.protocol._loader import (
        ENV_VAR as ENV_VAR,
    )
    from ai_lib_python.protocol._loader import (
        ProtocolLoader as ProtocolLoader,
    )
    from ai_lib_python.protocol._models import (
        AccumulatorSpec as AccumulatorSpec,
    )
    from ai_lib_python.protocol._models import (
        AuthSpec as AuthSpec,
    )
    from ai_lib_python.protocol._models import (
        AvailabilitySpec as AvailabilitySpec,
    )
    from ai_lib_python.protocol._models import (
        CandidateSpec as CandidateSpec,
    )
    from ai_lib_python.protocol._models import (
        CheckSpec as CheckSpec,
    )
    from ai_lib_python.protocol._models import (
        DecoderSpec as DecoderSpec,
    )
    from ai_lib_python.protocol._models import (
        EndpointSpec as EndpointSpec,
    )
    from ai_lib_python.protocol._models import (
        EventRule as EventRule,
    )
    from ai_lib_python.protocol._models import (
        ModelEntry as ModelEntry,
    )
    from ai_lib_python.protocol._models import (
        ModelInfo as ModelInfo,
    )
    from ai_lib_python.protocol._models import (
        ModelRegistry as ModelRegistry,
    )
    from ai_lib_python.protocol._models import (
        MultiCandidateSpec as MultiCandidateSpec,
    )
    from ai_lib_python.protocol._models import (
        ProtocolManifest as ProtocolManifest,
    )
    from ai_lib_python.protocol._models import (
        ProviderContract as ProviderContract,
    )
    from ai_lib_python.protocol._models import (
        RetrySpec as RetrySpec,
    )
    from ai_lib_python.protocol._models import (
        StreamingSpec as StreamingSpec,
    )
    from ai_lib_python.protocol._models import (
        capability_for_operation as capability_for_operation,
    )
    from ai_lib_python.protocol._models import (
        capability_tiers as capability_tiers,
    )
    from ai_lib_python.protocol._models import (
        derive_feature_flags as derive_feature_flags,
    )
    from ai_lib_python.protocol._validator import (
        ValidationReport as ValidationReport,
    )
    from ai_lib_python.protocol._validator import (
        Validator as Validator,
    )
    from ai_lib_python.protocol._validator import (
        document_ref_resolutions as document_ref_resolutions,
    )
    from ai_lib_python.protocol._validator import (
        load_contract as load_contract,
    )
    from ai_lib_python.protocol._validator import (
        validate_path as validate_path,
    )
