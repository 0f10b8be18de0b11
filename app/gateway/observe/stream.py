"""The live event stream behind /api/v1/events: calls and state changes as Server-Sent Events, with
`Last-Event-ID` replay from a bounded buffer.

Every event gets an id that rises across restarts (microseconds at start, then +1), so a client
that reconnects to a restarted gateway is told it missed events rather than sent the wrong ones.
Each event says who may see it: a per-client key sees its own calls and clients and the servers it
may use; key and config events are the main key's alone.

`publish` runs inline on the gateway's loop (a bus listener): it serialises once and appends to a
deque and to each subscriber's queue. A subscriber that falls `QUEUE_SIZE` events behind is
dropped; its client reconnects with `Last-Event-ID` and catches up from the buffer.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from app.gateway.security.identity import KeyIdentity

QUEUE_SIZE = 1000
_CLOSED = b""


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may see an event besides the main key: the key it belongs to, the server it is about."""

    key: str | None = None  # only this key (and main)
    server: str | None = None  # only keys that may use this server
    main_only: bool = False

    def allows(self, identity: KeyIdentity) -> bool:
        if is_main(identity):
            return True
        if self.main_only or (self.key is not None and self.key != identity.name):
            return False
        return self.server is None or identity.allows_server(self.server)


EVERYONE = Audience()
MAIN_ONLY = Audience(main_only=True)


def is_main(identity: KeyIdentity) -> bool:
    """The main key: sees everything (a per-client key may never be named "main")."""
    return identity.name == "main" and identity.servers is None and identity.tools is None


@dataclass(frozen=True, slots=True)
class StreamEvent:
    id: int
    kind: str
    audience: Audience
    frame: bytes  # the whole SSE frame, ready to send


class Subscription:
    def __init__(self, stream: EventStream, identity: KeyIdentity) -> None:
        self.stream = stream
        self.identity = identity
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_SIZE)

    def offer(self, event: StreamEvent) -> None:
        if not event.audience.allows(self.identity):
            return
        try:
            self.queue.put_nowait(event.frame)
        except asyncio.QueueFull:  # too slow: end it; the client resumes from the buffer with Last-Event-ID
            self.stream.unsubscribe(self)
            self.end()

    def end(self) -> None:
        while True:
            try:
                self.queue.put_nowait(_CLOSED)
                return
            except asyncio.QueueFull:
                self.queue.get_nowait()

    async def next(self) -> bytes | None:
        """The next frame; None once the stream is closed."""
        frame = await self.queue.get()
        return frame or None


class EventStream:
    def __init__(self, replay: int | Callable[[], int] = 1000) -> None:
        self._replay = replay
        self._buffer: collections.deque[StreamEvent] = collections.deque()
        self._ids = itertools.count(time.time_ns() // 1000)
        self._subscribers: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    @property
    def replay(self) -> int:
        return self._replay() if callable(self._replay) else self._replay

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop subscribers live on; events published from other threads hop to it."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def publish(self, kind: str, data: dict[str, Any], audience: Audience = EVERYONE) -> None:
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
                self._loop.call_soon_threadsafe(self.publish, kind, data, audience)
            return
        event_id = next(self._ids)
        body = orjson.dumps({"at": time.time(), **data, "id": event_id, "type": kind}, default=str)
        frame = b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, kind.encode(), body)
        event = StreamEvent(event_id, kind, audience, frame)
        self._buffer.append(event)
        excess = len(self._buffer) - self.replay
        for _ in range(excess):
            self._buffer.popleft()
        for subscriber in list(self._subscribers):
            subscriber.offer(event)

    def subscribe(self, identity: KeyIdentity, last_id: int | None) -> tuple[Subscription, list[bytes], bool]:
        """A new subscriber, the frames it missed after `last_id` (what it may see), and whether some it
        asked for are gone from the buffer (then it should read /api/v1/calls for what it missed)."""
        subscription = Subscription(self, identity)
        self._subscribers.add(subscription)
        if last_id is None:
            return subscription, [], False
        missed = [e for e in self._buffer if e.id > last_id]
        gap = bool(self._buffer) and self._buffer[0].id > last_id + 1 and last_id < self._buffer[-1].id
        frames = [e.frame for e in missed if e.audience.allows(identity)]
        return subscription, frames, gap

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def close_all(self) -> None:
        """End every open stream (the gateway is stopping)."""
        for subscriber in list(self._subscribers):
            self.unsubscribe(subscriber)
            subscriber.end()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)
