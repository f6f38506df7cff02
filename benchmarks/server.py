"""A minimal loopback provider for benchmarks: every body is pre-encoded, so the
server costs a few syscalls per response and is never the bottleneck.

Run as ``python benchmarks/server.py PORT``. The request path picks the format
(OpenAI ``/v1/chat/completions``, Anthropic ``/v1/messages``, Gemini
``/v1beta/models/<m>:streamGenerateContent``); the ``x-bench-deltas`` header sets the
number of content deltas of a streamed answer (each delta is the text ``tok<i> ``);
``"stream": true`` in the body (or the Gemini stream path) selects streaming.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from functools import lru_cache

NONSTREAM_TEXT = "The quick brown fox jumps over the lazy dog."


def delta_text(i: int) -> str:
    return f"tok{i} "


def expected_text(n: int) -> str:
    return "".join(delta_text(i) for i in range(n))


@lru_cache(maxsize=64)
def openai_stream(n: int) -> bytes:
    parts = []
    for i in range(n):
        frame = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                 "choices": [{"index": 0, "delta": {"content": delta_text(i)},
                              "finish_reason": None}]}
        parts.append(b"data: " + json.dumps(frame, separators=(",", ":")).encode() + b"\n\n")
    last = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    usage = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": n,
                                      "total_tokens": n + 5}}
    for f in (last, usage):
        parts.append(b"data: " + json.dumps(f, separators=(",", ":")).encode() + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


@lru_cache(maxsize=64)
def anthropic_stream(n: int) -> bytes:
    def ev(name: str, data: dict[str, object]) -> bytes:
        return (f"event: {name}\ndata: ".encode() + json.dumps(data, separators=(",", ":")).encode()
                + b"\n\n")

    parts = [
        ev("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [],
            "stop_reason": None, "usage": {"input_tokens": 5, "output_tokens": 1}}}),
        ev("content_block_start", {"type": "content_block_start", "index": 0,
                                   "content_block": {"type": "text", "text": ""}}),
    ]
    for i in range(n):
        parts.append(ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "text_delta",
                                                          "text": delta_text(i)}}))
    parts += [
        ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                             "usage": {"output_tokens": n}}),
        ev("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(parts)


@lru_cache(maxsize=64)
def gemini_stream(n: int) -> bytes:
    parts = []
    for i in range(n):
        frame: dict[str, object] = {"candidates": [{"content": {"role": "model", "parts": [
            {"text": delta_text(i)}]}, "index": 0}], "modelVersion": "m"}
        if i == n - 1:
            frame["candidates"][0]["finishReason"] = "STOP"  # type: ignore[index]
            frame["usageMetadata"] = {"promptTokenCount": 5, "candidatesTokenCount": n,
                                      "totalTokenCount": n + 5}
        parts.append(b"data: " + json.dumps(frame, separators=(",", ":")).encode() + b"\r\n\r\n")
    return b"".join(parts)


OPENAI_JSON = json.dumps({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": NONSTREAM_TEXT},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 10, "total_tokens": 15},
}).encode()


def _chunked(body: bytes, size: int = 65536) -> bytes:
    out = []
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
    out.append(b"0\r\n\r\n")
    return b"".join(out)


@lru_cache(maxsize=256)
def stream_response(kind: str, n: int) -> bytes:
    body = {"openai": openai_stream, "anthropic": anthropic_stream,
            "gemini": gemini_stream}[kind](n)
    head = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n")
    return head + _chunked(body)


JSON_RESPONSE = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                 + str(len(OPENAI_JSON)).encode() + b"\r\n\r\n" + OPENAI_JSON)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            path = lines[0].split(b" ")[1]
            length = 0
            deltas = 0
            for line in lines[1:]:
                low = line.lower()
                if low.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
                elif low.startswith(b"x-bench-deltas:"):
                    deltas = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            if b"streamGenerateContent" in path:
                writer.write(stream_response("gemini", deltas))
            elif b'"stream":true' in body.replace(b" ", b""):
                kind = "anthropic" if path.endswith(b"/messages") else "openai"
                writer.write(stream_response(kind, deltas))
            else:
                writer.write(JSON_RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_reader(sys.stdin.fileno(), stop.set)  # parent closes stdin to stop us
    async with server:
        await stop.wait()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    sys.stdout.write(json.dumps({"cpu_s": ru.ru_utime + ru.ru_stime}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
