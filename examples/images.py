"""Images: send a picture by URL or as bytes, in the same message as the question.

The client encodes the image the way each provider expects (OpenAI ``image_url``,
Anthropic ``image`` source blocks, Gemini ``inlineData`` / ``fileData``).

    python examples/images.py
"""

from __future__ import annotations

import asyncio
import struct
import zlib

from _offline import Offline

from ai_lib_python import AiClient, ImageBlock, TextBlock
from ai_lib_python.testing import Reply

MODEL = "openai/gpt-4o"
PHOTO_URL = "https://upload.wikimedia.org/wikipedia/commons/4/47/PNG_transparency_demonstration_1.png"


def red_square_png(size: int = 16) -> bytes:
    """A small solid red PNG, made here so the example needs no file."""
    row = b"\x00" + b"\xff\x00\x00" * size
    raw = zlib.compress(row * size)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw)
            + chunk(b"IEND", b""))


async def main() -> None:
    with Offline(MODEL) as env:
        env.script(Reply(text="The first image is a red square; the second shows dice."))
        async with await AiClient.create(MODEL, **env.connect(MODEL)) as client:
            resp = await client.chat().user([
                TextBlock("Describe each image in a few words."),
                ImageBlock.from_bytes(red_square_png(), "image/png"),
                ImageBlock(url=PHOTO_URL),
            ]).execute()
        if env.emulator is not None:
            parts = env.emulator.last_request.json["messages"][0]["content"]
            print("sent parts:", ", ".join(part["type"] for part in parts))
    print(f"answer: {resp.content}")


if __name__ == "__main__":
    asyncio.run(main())
