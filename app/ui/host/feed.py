"""Gateway events into Qt, in batches, across threads.

The gateway publishes on its own thread: the bus callback only appends to a deque (thread-safe,
no QObject touched). A timer on the Qt thread drains it and hands the UI one list per tick, so a
burst of thousands of calls costs one model update per tick, not one per event. The tick also
fires when the gateway's snapshot changed without an event (`stamp`), so models catch up with it.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.gateway import EventBus

FLUSH_MS = 250  # the issue allows 100-250 ms; each flush holds the GIL the gateway thread needs
BUSY_FLUSH_MS = 750  # under a burst, fewer and larger batches: the panel's repaints compete with the gateway
BUSY_EVENTS = 64  # a batch this large means a burst


class EventFeed(QObject):
    batch = Signal(list)  # list of gateway events, oldest first (may be empty when only the snapshot moved)

    def __init__(
        self,
        bus: EventBus,
        parent: QObject | None = None,
        interval_ms: int = FLUSH_MS,
        stamp: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(parent)
        self._buffer: collections.deque[Any] = collections.deque()
        self._stamp = stamp
        self._seen = stamp() if stamp is not None else None
        self._interval_ms = interval_ms
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.flush)
        self._timer.start()
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._on_event)

    def _on_event(self, event: Any) -> None:
        # Runs inline on the gateway's thread: one append, nothing else (no Qt call from here).
        self._buffer.append(event)

    def flush(self) -> None:
        """On the Qt thread: hand over everything received so far."""
        events = []
        buffer = self._buffer
        while buffer:
            events.append(buffer.popleft())
        busy = len(events) >= BUSY_EVENTS
        self._timer.setInterval(max(BUSY_FLUSH_MS, self._interval_ms) if busy else self._interval_ms)
        stamp = self._stamp() if self._stamp is not None else None
        if not events and stamp == self._seen:
            return
        self._seen = stamp
        self.batch.emit(events)

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._timer.stop()
        self._buffer.clear()
