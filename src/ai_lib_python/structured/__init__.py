"""Structured output: answers as validated Python values.

::

    class Person(BaseModel):
        name: str
        age: int

    person = await client.chat().user("Who wrote Dune?").output(Person).execute()
    result = await client.chat().user("...").output(Person).execute_with_response()
    result.value, result.response, result.attempts

    async with client.chat().user("...").output(Person).stream() as s:
        async for partial in s:          # {"name": "Fr"}, {"name": "Frank Herbert"}, ...
            ...
    s.value                              # Person(...)

The schema comes from Pydantic; each wire format sends it the way its provider
supports (strict ``response_format``, a forced tool, ``responseSchema``, or JSON
mode with instructions where the manifest declares no native support). An answer
that does not validate is sent back with the errors for a bounded number of
repairs; the last failure raises :class:`StructuredOutputError`.
"""

from ai_lib_python.errors import StructuredOutputError
from ai_lib_python.structured._partial import PartialJson
from ai_lib_python.structured._request import (
    StructuredRequest,
    StructuredResult,
    StructuredStream,
    repair_messages,
)
from ai_lib_python.structured._spec import OutputSpec, json_payload, output_spec

__all__ = [
    "OutputSpec",
    "PartialJson",
    "StructuredOutputError",
    "StructuredRequest",
    "StructuredResult",
    "StructuredStream",
    "json_payload",
    "output_spec",
    "repair_messages",
]
