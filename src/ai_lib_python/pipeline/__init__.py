"""Streaming pipeline: decode -> select -> fan out -> map -> accumulate."""

from ai_lib_python.pipeline._accumulate import CandidateAccumulator, normalize_finish
from ai_lib_python.pipeline._decode import (
    DONE,
    FrameDecoder,
    JsonArrayDecoder,
    JsonLinesDecoder,
    SseDecoder,
    make_decoder,
)
from ai_lib_python.pipeline._plan import (
    RuleSpec,
    StreamPlan,
    StreamSpec,
    StreamState,
    rule_specs,
    stream_spec_of,
)

__all__ = [
    "DONE",
    "CandidateAccumulator",
    "FrameDecoder",
    "JsonArrayDecoder",
    "JsonLinesDecoder",
    "RuleSpec",
    "SseDecoder",
    "StreamPlan",
    "StreamSpec",
    "StreamState",
    "make_decoder",
    "normalize_finish",
    "rule_specs",
    "stream_spec_of",
]
