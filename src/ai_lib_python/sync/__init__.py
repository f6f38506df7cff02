"""A synchronous facade for scripts and notebooks.

The same classes and method names as the async API, without ``await``::

    from ai_lib_python.sync import AiClient

    with AiClient.create("openai/gpt-4o") as client:
        resp = client.chat().system("Be brief.").user("2+2?").execute()
        print(resp.content)

        with client.chat().user("Tell a story").stream() as stream:
            for event in stream:                 # the same typed events
                ...
        print(stream.response.usage)

Every call runs on one private event loop, on a daemon thread that starts on first
use and is stopped and joined at interpreter exit. Calls block the calling thread
only, so they work from plain scripts, from worker threads, and from code where an
event loop is already running (Jupyter cells). Inside ``async def`` code prefer the
async API: a blocking call there stalls the caller's loop until it returns.
"""

from ai_lib_python.sync._builder import ChatRequestBuilder
from ai_lib_python.sync._client import AiClient, AiClientBuilder, create_sync
from ai_lib_python.sync._stream import ChatStream, StructuredStream
from ai_lib_python.sync._structured import StructuredRequest

__all__ = [
    "AiClient",
    "AiClientBuilder",
    "ChatRequestBuilder",
    "ChatStream",
    "StructuredRequest",
    "StructuredStream",
    "create_sync",
]
