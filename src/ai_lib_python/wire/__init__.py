"""Wire formats: request encoding and response decoding per payload format.

The only provider-family code in the library; everything else is manifest data.
"""

from ai_lib_python.wire._codecs import (
    CODECS,
    Codec,
    codec_for,
    decode_response,
    encode_content_blocks,
    encode_request,
)
from ai_lib_python.wire._common import HttpRequestSpec, map_parameters

__all__ = [
    "CODECS",
    "Codec",
    "HttpRequestSpec",
    "codec_for",
    "decode_response",
    "encode_content_blocks",
    "encode_request",
    "map_parameters",
]
