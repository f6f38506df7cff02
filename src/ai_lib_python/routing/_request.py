"""What a request needs from a model: capabilities and its size in tokens.

The size comes from the library's one token counter (:mod:`ai_lib_python.tokens`),
estimating the prompt as the OpenAI wire format carries it; it is a routing
estimate, not a bill.
"""

from __future__ import annotations

from ai_lib_python.tokens import IMAGE_TOKENS, TokenCounter
from ai_lib_python.types import ChatRequest, ImageBlock

DEFAULT_OUTPUT_TOKENS = 512
"""Output assumed for cost estimates when the request sets no ``max_tokens``."""

_counter: TokenCounter | None = None


def estimate_input_tokens(request: ChatRequest) -> int:
    """Estimated prompt tokens of ``request`` (messages, tools, images)."""
    global _counter
    if _counter is None:
        _counter = TokenCounter()
    return _counter.count_request(request)


def prompt_upper_bound(request: ChatRequest) -> int:
    """A cheap bound the prompt's tokens stay under (no token counting): 1.5 tokens per
    character of text and tool schema, plus framing and a flat price per image. Used to
    skip the count when every window is far larger than the request."""
    chars = 0
    images = 0
    for message in request.messages:
        content = message.content
        if isinstance(content, str):
            chars += len(content)
            continue
        for block in content:
            if isinstance(block, ImageBlock):
                images += 1
                continue
            for attr in ("text", "content", "thinking"):
                value = getattr(block, attr, None)
                if isinstance(value, str):
                    chars += len(value)
            arguments = getattr(block, "arguments", None)
            if arguments:
                chars += len(str(arguments))
    for tool in request.tools:
        chars += len(tool.name) + len(tool.description) + len(str(tool.parameters))
    return int(chars * 1.5) + 16 * len(request.messages) + images * IMAGE_TOKENS + 64


def estimate_tokens(request: ChatRequest) -> int:
    """Tokens the context window must hold: the prompt plus ``max_tokens`` when set."""
    return estimate_input_tokens(request) + (request.max_tokens or 0)


def required_capabilities(request: ChatRequest) -> frozenset[str]:
    """Capabilities a model needs to serve ``request``: tools, vision, reasoning."""
    needed: set[str] = set()
    if request.tools:
        needed.add("tools")
    if request.reasoning_effort is not None or request.thinking_budget is not None:
        needed.add("reasoning")
    for message in request.messages:
        if not isinstance(message.content, str) and any(
                isinstance(b, ImageBlock) for b in message.content):
            needed.add("vision")
            break
    return frozenset(needed)
