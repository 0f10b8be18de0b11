"""The bench's SSE parser (bench/wire.py) reads every event whole, however the stream is cut, with each line
end SSE allows: the figures of every SSE row rest on it."""

from __future__ import annotations

import random

import orjson
import pytest

from bench.wire import SSEParser

BIG = b"event: message\r\ndata: " + orjson.dumps({"id": 1, "text": "x" * 262144}) + b"\r\n\r\n"
STREAM = b"event: endpoint\r\ndata: /m?s=abc\r\n\r\n: ping\r\n\r\ndata: {\"a\":1}\n\ndata: x\rdata: y\r\r" + BIG


@pytest.mark.parametrize("longest_cut", [40, 200, 70_000, len(STREAM)])
def test_every_event_comes_out_whole_however_the_stream_is_cut(longest_cut):
    rng = random.Random(longest_cut)
    for _ in range(5):
        parser, events, at = SSEParser(), [], 0
        while at < len(STREAM):
            step = rng.randint(1, longest_cut)
            events += parser.feed(STREAM[at : at + step])
            at += step
        assert [kind for kind, _ in events] == ["endpoint", "message", "message", "message"]
        assert [data for _, data in events][:3] == ["/m?s=abc", '{"a":1}', "x\ny"]
        assert orjson.loads(events[3][1]) == {"id": 1, "text": "x" * 262144}


def test_a_stream_fed_one_byte_at_a_time():
    parser, events = SSEParser(), []
    small = STREAM[: -len(BIG)] + b"event: message\r\ndata: last\r\n\r\n"
    for i in range(len(small)):
        events += parser.feed(small[i : i + 1])
    assert [data for _, data in events] == ["/m?s=abc", '{"a":1}', "x\ny", "last"]
