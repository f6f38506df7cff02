"""AI-Protocol manifests: models, loader, validator and the expression language.

A provider is data: :class:`ProtocolLoader` finds its manifest (code, then
``AI_PROTOCOL_PATH``, then the manifests shipped in the package), validates it and
returns an immutable :class:`ProtocolManifest`. The runtime reads a manifest only
through the normalized accessors (``auth``, ``endpoint(op)``, ``parameter_map``,
``streaming`` ...), never through the raw sections.
"""

from ai_lib_python.protocol._cache import UrlCache, default_cache_dir
from ai_lib_python.protocol._expr import (
    MISSING,
    CompiledPath,
    compile_condition,
    compile_path,
)
from ai_lib_python.protocol._loader import ENV_VAR, ProtocolLoader
from ai_lib_python.protocol._models import (
    AccumulatorSpec,
    AuthSpec,
    AvailabilitySpec,
    CandidateSpec,
    CheckSpec,
    DecoderSpec,
    EndpointSpec,
    EventRule,
    ModelEntry,
    ModelInfo,
    ModelRegistry,
    MultiCandidateSpec,
    ProtocolManifest,
    ProviderContract,
    RetrySpec,
    StreamingSpec,
    capability_for_operation,
    capability_tiers,
    derive_feature_flags,
)
from ai_lib_python.protocol._validator import (
    ValidationReport,
    Validator,
    document_ref_resolutions,
    load_contract,
    validate_path,
)

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
