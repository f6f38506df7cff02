"""FallbackHandler: ordered targets, the next one tried on a fallbackable error.

A target's error moves the call on to the next target only when its standard code
is fallbackable (AiLibError.fallbackable) and, for a stream, nothing has reached
the caller yet. A non-fallbackable error surfaces as it is. When the last target
fails too, AllTargetsFailedError lists every ``(target, error)`` and is raised from
the last error; its ``code`` is the last error's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from ai_lib_python.client._context import CallContext, ChatHandler, EventBatch
from ai_lib_python.errors import AiLibError, AllTargetsFailedError
from ai_lib_python.resilience._preflight import WITHHELD, aclosing_stream
from ai_lib_python.types import ChatRequest, ChatResponse

ORDER = "fallback.order"
"""``CallContext.attributes`` key: the member indices in the order this call tries them
(a router sets it per call); without it, the members' own order."""


class FallbackHandler:
    """Tries ``members`` (name, handler) in order, or in the call's ``ORDER``."""

    def __init__(self, members: Sequence[tuple[str, ChatHandler]]) -> None:
        if not members:
            raise ValueError("a fallback chain needs at least one target")
        self.members = list(members)

    def _for(self, ctx: CallContext) -> list[tuple[str, ChatHandler]]:
        order = ctx.attributes.get(ORDER)
        return self.members if order is None else [self.members[i] for i in order]

    def _give_up(self, failed: list[tuple[str, AiLibError]], index: int,
                 count: int) -> AiLibError | None:
        """The error to raise now, or None to try the next target."""
        error = failed[-1][1]
        if error.fallbackable and index + 1 < count:
            return None
        if len(failed) == 1 or not error.fallbackable:
            return error
        return AllTargetsFailedError(failed)

    async def execute(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        failed: list[tuple[str, AiLibError]] = []
        members = self._for(ctx)
        for index, (name, handler) in enumerate(members):
            try:
                return await handler.execute(request, ctx)
            except AiLibError as error:
                failed.append((name, error))
                final = self._give_up(failed, index, len(members))
                if final is error:
                    raise
                if final is not None:
                    raise final from error
        raise AssertionError("unreachable")  # pragma: no cover

    async def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[EventBatch]:
        failed: list[tuple[str, AiLibError]] = []
        members = self._for(ctx)
        for index, (name, handler) in enumerate(members):
            delivered = False
            try:
                async with aclosing_stream(handler.stream(request, ctx)) as events:
                    async for batch in events:
                        delivered = True
                        yield batch
                return
            except AiLibError as error:
                if delivered or ctx.events_yielded:
                    raise
                failed.append((name, error))
                final = self._give_up(failed, index, len(members))
                if final is error:
                    raise
                if final is not None:
                    raise final from error
            ctx.attributes.pop(WITHHELD, None)

    async def aclose(self) -> None:
        for _, handler in self.members:
            await handler.aclose()


__all__ = ["ORDER", "FallbackHandler"]
