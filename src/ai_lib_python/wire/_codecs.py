"""The payload-format registry: the one place that picks a codec for a manifest."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ai_lib_python.errors import ConfigurationError, ProtocolError
from ai_lib_python.types import (
    ChatRequest,
    ChatResponse,
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    TextBlock,
)
from ai_lib_python.wire import (
    _anthropic_request,
    _anthropic_response,
    _cohere_request,
    _cohere_response,
    _gemini_request,
    _gemini_response,
    _openai_request,
    _openai_response,
)
from ai_lib_python.wire._common import (
    HttpRequestSpec,
    deep_merge,
    map_parameters,
    request_params,
)
from ai_lib_python.wire._structured import prepare_output


@dataclass(frozen=True, slots=True)
class Codec:
    """The request encoder and response decoder of one payload format."""

    name: str
    encode_body: Callable[[ChatRequest, dict[str, Any], Mapping[str, Any]], dict[str, Any]]
    decode: Callable[[Any, dict[str, str]], ChatResponse]
    stream_flag: bool  # whether streaming is requested with "stream": true in the body
    default_path: str


CODECS: dict[str, Codec] = {
    "openai_style": Codec("openai_style", _openai_request.encode_body, _openai_response.decode,
                          True, "/chat/completions"),
    "anthropic_style": Codec("anthropic_style", _anthropic_request.encode_body,
                             _anthropic_response.decode, True, "/messages"),
    "gemini_style": Codec("gemini_style", _gemini_request.encode_body, _gemini_response.decode,
                          False, "/models/{model}:generateContent"),
    "cohere_v2": Codec("cohere_v2", _cohere_request.encode_body, _cohere_response.decode,
                       True, "/chat"),
}


def codec_for(manifest: Any) -> Codec:
    """The codec of a manifest's payload format (default ``openai_style``)."""
    fmt = str(getattr(manifest, "payload_format", None) or "openai_style")
    codec = CODECS.get(fmt)
    if codec is None:
        raise ProtocolError(
            f"payload format {fmt!r} is not supported; supported: {sorted(CODECS)}",
            source=getattr(manifest, "source", None), path="payload_format",
        )
    return codec


def _stream_options(manifest: Any) -> dict[str, Any] | None:
    streaming = getattr(manifest, "streaming", None)
    opts = getattr(streaming, "stream_options", None) if streaming is not None else None
    if opts is None and streaming is not None:
        extra = getattr(streaming, "model_extra", None) or {}
        opts = extra.get("stream_options")
    return opts if isinstance(opts, dict) else None


def encode_request(manifest: Any, request: ChatRequest) -> HttpRequestSpec:
    """Build the provider request (path relative to the base URL, body, headers)."""
    codec = codec_for(manifest)
    request = prepare_output(manifest, request)
    params = map_parameters(manifest, request_params(manifest, request))
    params.pop("stream", None)
    body = codec.encode_body(request, params, getattr(manifest, "payload_options", None) or {})
    if request.stream and codec.stream_flag:
        body["stream"] = True
        opts = _stream_options(manifest)
        if opts:
            body["stream_options"] = dict(opts)
    if request.extra_body:
        deep_merge(body, request.extra_body)
    ep = manifest.endpoint("chat") if hasattr(manifest, "endpoint") else None
    path = ep.path if ep is not None else codec.default_path
    method = ep.method if ep is not None else "POST"
    if request.stream:
        stream_ep = manifest.endpoint("stream_chat") if hasattr(manifest, "endpoint") else None
        if stream_ep is not None:
            path = stream_ep.path
        elif ep is not None and getattr(ep, "stream_path", None):
            path = ep.stream_path
        elif not codec.stream_flag:
            path = path.replace(":generateContent", ":streamGenerateContent?alt=sse")
    path = path.replace("{model}", request.model)
    query: dict[str, str] = {}
    if "?" in path:
        path, _, qs = path.partition("?")
        for pair in qs.split("&"):
            k, _, v = pair.partition("=")
            if k:
                query[k] = v
    return HttpRequestSpec(method, path, body, dict(request.headers or {}), query, request.stream)


def decode_response(manifest: Any, body: Any) -> ChatResponse:
    """Decode a complete (non-streamed) response body."""
    if not isinstance(body, dict):
        from ai_lib_python.errors import StreamDecodeError

        raise StreamDecodeError(f"expected a JSON object response, got {type(body).__name__}")
    response = codec_for(manifest).decode(
        body, dict(getattr(manifest, "termination_map", None) or {}))
    if getattr(manifest, "text_tool_fallback", False):
        from ai_lib_python.wire._text_tools import apply_text_tool_calls

        apply_text_tool_calls(response)
    return response


def encode_content_blocks(api_style: str, blocks: list[ContentBlock]) -> list[dict[str, Any]]:
    """Encode content blocks in an API style (anthropic_messages, gemini_generate, openai)."""
    style = api_style.lower()
    for b in blocks:
        if isinstance(b, (DocumentBlock, ImageBlock)) and b.data is None and b.url is not None and (
            not b.url.startswith(("http://", "https://", "data:", "gs://"))
        ):
            raise ConfigurationError(
                f"content block source {b.url!r} is a reference that must be resolved "
                "before encoding"
            )
    if style.startswith("anthropic"):
        return [_anthropic_request.encode_block(b) for b in blocks]
    if style.startswith("gemini"):
        out = [_gemini_request.encode_part(b, {}) for b in blocks]
        return [p for p in out if p is not None]
    parts: list[dict[str, Any]] = []
    for b in blocks:
        part = _openai_request._part(b) if not isinstance(b, TextBlock) else {
            "type": "text", "text": b.text}
        if part is not None:
            parts.append(part)
    return parts
