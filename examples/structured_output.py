"""Structured output: the answer as a validated Pydantic object, whole or streamed.

    python examples/structured_output.py
"""

from __future__ import annotations

import asyncio

from _offline import Offline
from pydantic import BaseModel, Field

from ai_lib_python import AiClient
from ai_lib_python.testing import Reply

MODEL = "openai/gpt-4o"


class Movie(BaseModel):
    title: str
    year: int = Field(ge=1888)
    director: str
    genres: list[str]


ANSWER = ('{"title": "Arrival", "year": 2016, "director": "Denis Villeneuve", '
          '"genres": ["science fiction", "drama"]}')


async def main() -> None:
    with Offline(MODEL) as env:
        env.script(Reply(text=ANSWER), Reply(text=ANSWER, chunk_size=12))
        async with await AiClient.create(MODEL, **env.connect(MODEL)) as client:
            prompt = "A 2016 film about linguists and aliens, as JSON."
            movie = await client.chat().user(prompt).output(Movie).execute()
            print(f"title={movie.title} year={movie.year} director={movie.director}")

            async with client.chat().user(prompt).output(Movie).stream() as stream:
                async for partial in stream:  # the object so far, as a dict
                    print("partial:", partial)
            print(f"validated: {stream.value!r}")


if __name__ == "__main__":
    asyncio.run(main())
