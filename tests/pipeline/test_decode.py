"""Decoders turn bytes into frames however the bytes are split."""

from __future__ import annotations

import json

import pytest

from ai_lib_python.errors import StreamDecodeError
from ai_lib_python.pipeline import DONE, JsonArrayDecoder, JsonLinesDecoder, SseDecoder

SSE = (
    b": keep-alive comment\r\n\r\n"
    b"event: message_start\r\ndata: {\"a\": 1}\r\n\r\n"
    b"data: {\"b\":\r\ndata:  2}\r\n\r\n"  # a frame split over two data lines
    b"id: 7\nretry: 100\ndata: {\"c\": \"\xc3\xa9\"}\n\n"
    b"data: [DONE]\n\n"
)


def _feed_in_pieces(decoder: SseDecoder | JsonLinesDecoder | JsonArrayDecoder, data: bytes,
                    size: int) -> list[object]:
    out: list[object] = []
    for i in range(0, len(data), size):
        out.extend(decoder.feed(data[i:i + size]))
    out.extend(decoder.close())
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
def test_sse_frames_whatever_the_chunking(size: int) -> None:
    frames = _feed_in_pieces(SseDecoder(), SSE, size)
    assert frames == [{"a": 1}, {"b": 2}, {"c": "é"}, DONE]


def test_sse_event_error_without_error_key_is_wrapped() -> None:
    frames = SseDecoder().feed(b'event: error\ndata: {"message": "boom"}\n\n')
    assert frames == [{"type": "error", "error": {"message": "boom"}}]


def test_sse_last_event_without_blank_line_is_kept() -> None:
    dec = SseDecoder(done_signal=None)
    assert dec.feed(b'data: {"x": 1}') == []
    assert dec.close() == [{"x": 1}]


@pytest.mark.parametrize("payload", [b"data: {not json}\n\n", b"data: {\"a\": \"\xff\xfe\"}\n\n"])
def test_sse_malformed_frame_and_bad_utf8_are_typed_errors(payload: bytes) -> None:
    with pytest.raises(StreamDecodeError):
        SseDecoder().feed(payload)


def test_json_lines() -> None:
    data = b'{"a": 1}\n\n{"b": 2}\n{"c": 3}'
    assert _feed_in_pieces(JsonLinesDecoder(), data, 3) == [{"a": 1}, {"b": 2}, {"c": 3}]


@pytest.mark.parametrize("size", [1, 5, 1000])
def test_json_array_stream(size: int) -> None:
    items = [{"candidates": [{"content": {"parts": [{"text": f"t{i} ]["}]}}]} for i in range(4)]
    data = ("[" + ",\r\n".join(json.dumps(x) for x in items) + "]").encode()
    assert _feed_in_pieces(JsonArrayDecoder(), data, size) == items


def test_json_array_truncated_is_an_error() -> None:
    dec = JsonArrayDecoder()
    dec.feed(b'[{"a": 1}, {"b": ')
    with pytest.raises(StreamDecodeError):
        dec.close()


def test_sse_decoding_is_linear() -> None:
    """Feeding a long stream byte-wise keeps only the unfinished tail buffered."""
    dec = SseDecoder()
    line = b'data: {"choices": [{"delta": {"content": "x"}}]}\n\n'
    count = 0
    for _ in range(2000):
        for b in (line[:10], line[10:]):
            count += len(dec.feed(b))
        assert len(dec._buf) < len(line)
    assert count == 2000


def test_json_array_split_inside_a_multibyte_character() -> None:
    data = '[{"text": "Pelé ☕"}]'.encode()
    cut = data.index("é".encode()) + 1  # between the two bytes of é
    dec = JsonArrayDecoder()
    assert dec.feed(data[:cut]) == []
    assert dec.feed(data[cut:]) == [{"text": "Pelé ☕"}]
