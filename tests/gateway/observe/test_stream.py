"""The event stream's replay buffer: what a reconnecting subscriber gets, and what it is told it missed."""

from __future__ import annotations

from app.gateway import MAIN, KeyIdentity
from app.gateway.observe.stream import MAIN_ONLY, Audience, EventStream


def ids(frames: list[bytes]) -> list[int]:
    return [int(f.split(b"\n", 1)[0].removeprefix(b"id: ")) for f in frames]


def test_replay_after_last_event_id_and_a_gap_once_the_buffer_moved_on() -> None:
    stream = EventStream(replay=3)
    for i in range(5):
        stream.publish("call", {"n": i})
    kept = [e.id for e in stream._buffer]
    assert len(kept) == 3

    _, frames, gap = stream.subscribe(MAIN, kept[0])
    assert ids(frames) == kept[1:] and not gap  # nothing lost: resumed right after what it saw
    _, frames, gap = stream.subscribe(MAIN, kept[0] - 2)
    assert ids(frames) == kept and gap  # two events fell out of the buffer meanwhile: it is told
    _, frames, gap = stream.subscribe(MAIN, kept[-1])
    assert frames == [] and not gap


def test_a_per_client_key_is_replayed_only_what_it_may_see() -> None:
    stream = EventStream(replay=10)
    cursor = KeyIdentity("cursor", servers=frozenset({"files"}))
    stream.publish("call", {"who": "main"}, Audience(key="main", server="files"))
    stream.publish("call", {"who": "cursor"}, Audience(key="cursor", server="files"))
    stream.publish("server", {"server": "web"}, Audience(server="web"))
    stream.publish("key", {"name": "cursor"}, MAIN_ONLY)
    _, frames, _ = stream.subscribe(cursor, 0)
    assert len(frames) == 1 and b'"who":"cursor"' in frames[0]
    _, frames, _ = stream.subscribe(MAIN, 0)
    assert len(frames) == 4
