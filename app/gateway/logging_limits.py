"""Log lines for other people's mistakes: one line each, rate-limited per source, detail at debug level.

A junk line from a child or a malformed request from a client is worth one line in the log, not a
traceback: a fuzz run or a misbehaving child otherwise pushes every useful line out of the rotated log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

WINDOW = 60.0  # seconds
PER_WINDOW = 5  # lines per source per window; the rest are counted and summed up in the next line


class _Window:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._start = -WINDOW
        self._count = 0
        self.suppressed = 0

    def allow(self) -> bool:
        now = self._clock()
        if now - self._start >= WINDOW:
            self._start, self._count = now, 0
        self._count += 1
        if self._count > PER_WINDOW:
            self.suppressed += 1
            return False
        return True

    def take_suppressed(self) -> int:
        count, self.suppressed = self.suppressed, 0
        return count


class RateLimitedLog:
    """At most PER_WINDOW warnings a minute from one source; the others go to debug and are counted."""

    def __init__(self, logger: logging.Logger, source: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.source = source
        self._window = _Window(clock)

    def warning(self, message: str, *args: object) -> None:
        if not self._window.allow():
            self.logger.debug("%s " + message, self.source, *args)
            return
        skipped = self._window.take_suppressed()
        more = f" ({skipped} more like it were not logged)" if skipped else ""
        self.logger.warning("%s " + message + "%s", self.source, *args, more)


class OneLineLibraryErrors(logging.Filter):
    """On the SDK's and servers' loggers: a traceback for bad input (an unparsable POST, an unknown session
    id) becomes one WARNING line, and each message is rate-limited. With debug logging on, nothing changes."""

    def __init__(self, *, only: tuple[str, ...] = ("mcp",), clock: Callable[[], float] = time.monotonic) -> None:
        """`only`: the loggers (and their children) it applies to; a handler filter, since a logger's own
        filters do not see its children's records."""
        super().__init__()
        self._only = only
        self._windows: dict[tuple[str, str], _Window] = {}
        self._clock = clock

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._only) or record.levelno >= logging.CRITICAL:
            return True
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            return True
        if record.exc_info:
            exc = record.exc_info[1]
            text = record.getMessage()
            record.msg = f"{text}: {type(exc).__name__}: {exc}" if exc is not None else text
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        key = (record.name, str(record.msg)[:60])
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) > 1000:  # bounded: messages differ in their first 60 characters rarely
                self._windows.clear()
            window = self._windows[key] = _Window(self._clock)
        return window.allow()
