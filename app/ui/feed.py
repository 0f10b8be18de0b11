"""Gateway events into Qt, in batches: the bus callback only appends; a timer hands the UI a list.

A burst of thousands of calls therefore costs one model update per tick, not one per event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.gateway.events import EventBus

FLUSH_MS = 150


class EventFeed(QObject):
    batch = Signal(list)  # list of gateway events, oldest first

    def __init__(self, bus: EventBus, parent: QObject | None = None, interval_ms: int = FLUSH_MS) -> None:
        super().__init__(parent)
        self._buffer: list[Any] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.flush)
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._on_event)

    def _on_event(self, event: Any) -> None:
        # Runs inline on the loop inside the gateway: append, arm the timer once, nothing else.
        self._buffer.append(event)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        if not self._buffer:
            return
        events, self._buffer = self._buffer, []
        self.batch.emit(events)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._timer.stop()
        self._buffer.clear()
