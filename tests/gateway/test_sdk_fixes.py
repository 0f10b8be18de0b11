"""The stream and SSE fixes keep the behaviour of what they replace."""

from __future__ import annotations

import re

import anyio
import pytest
from anyio.streams.text import TextReceiveStream

from app.gateway.sdk.patches import WholeLineTextStream, _SplitOnlyIfNeeded

pytestmark = pytest.mark.anyio


async def chunks_through(stream_type, pieces: list[bytes]) -> list[str]:
    send, receive = anyio.create_memory_object_stream[bytes](len(pieces))
    for piece in pieces:
        await send.send(piece)
    send.close()
    out = []
    stream = stream_type(receive)
    while True:
        try:
            out.append(await stream.receive())
        except anyio.EndOfStream:
            return out


async def test_whole_lines_carry_the_same_text_in_fewer_pieces():
    pieces = [b'{"a":', b' "b"', b'}\n{"c', "é".encode()[:1], "é".encode()[1:] + b'"}\n', b"tail"]
    plain = await chunks_through(TextReceiveStream, pieces)
    whole = await chunks_through(WholeLineTextStream, pieces)
    assert "".join(whole) == "".join(plain) == '{"a": "b"}\n{"cé"}\ntail'
    assert whole == ['{"a": "b"}\n{"c', 'é"}\n', "tail"]
    assert all("\n" in piece for piece in whole[:-1])  # every piece but the last completes a line


def test_split_only_if_needed_matches_the_regex():
    expr = re.compile(r"\r\n|\r|\n")
    fast = _SplitOnlyIfNeeded(expr)
    for text in ["", "plain", "a\nb", "a\r\nb\rc", '{"x": "a\\nb"}']:
        assert fast.split(text) == expr.split(text)
        assert fast.sub("", text) == expr.sub("", text)
