"""The synchronous StructuredRequest: ``client.chat()...output(Type)`` in sync code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

from ai_lib_python.sync._runner import RUNNER
from ai_lib_python.sync._stream import StructuredStream
from ai_lib_python.types import ChatRequest

if TYPE_CHECKING:
    from ai_lib_python.structured import StructuredRequest as AsyncStructuredRequest
    from ai_lib_python.structured import StructuredResult

T = TypeVar("T")


class StructuredRequest(Generic[T]):
    """A chat request bound to an output type; ``execute()``, ``execute_with_response()``
    or ``stream()`` it. An invalid answer is sent back to the model with its
    validation errors up to ``repair_attempts`` times."""

    __slots__ = ("_async",)

    def __init__(self, request: AsyncStructuredRequest[T]) -> None:
        self._async = request

    def build(self) -> ChatRequest:
        """The ChatRequest, with the output schema as its response format."""
        return self._async.build()

    def execute(self) -> T:
        """The validated answer."""
        return RUNNER.run(self._async.execute())

    def execute_with_response(self) -> StructuredResult[T]:
        """The validated answer with its ChatResponse (``.value``, ``.response``)."""
        return RUNNER.run(self._async.execute_with_response())

    def stream(self) -> StructuredStream[T]:
        """Partial values as the answer arrives; ``s.final()`` or ``s.value`` after."""
        return StructuredStream(self._async.stream())
