"""The history in one SQLite file, written by one thread, off the call path.

`record_call` / `record_event` cost the caller one `put_nowait` into a bounded queue; a full
queue drops the record and counts it, so a slow disk never slows a call. The writer thread
takes what is queued (up to `batch` records), writes it in one transaction and commits, then
enforces retention now and then. A process killed mid-burst loses at most the batch it was
writing: the file is in WAL mode and every commit before the kill is in it.

Reads (`SqliteReads`) use their own connection (WAL lets them run while the writer commits); they
do blocking I/O, so call them off the event loop.
"""

from __future__ import annotations

import logging
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from app.gateway.observe import sqlite_retention, sqlite_schema
from app.gateway.observe.history import HistoryError
from app.gateway.observe.records import CallRecord, EventRecord
from app.gateway.observe.sqlite_reader import SqliteReads

log = logging.getLogger(__name__)

_STOP = object()
# Retention also runs after this many batches, so a burst cannot outgrow the cap for a whole interval.
_RETENTION_EVERY_BATCHES = 1000
_FAILURE_LOG_INTERVAL_S = 60.0


class SqliteHistory(SqliteReads):
    """The history store (see `HistoryStore`) in the SQLite file at `path`.

    Opening creates the file (and its folder) or checks an existing one, so it does disk I/O:
    construct it off the event loop. Raises HistoryError, with the file and the fix, for a file
    that is not a history database; such a file is never touched.

    `linger_s`: after the first record of a batch, the writer waits this long for more before it
    commits (so a busy gateway costs ~20 commits a second, not one per call).
    `on_commit(total)` is called on the writer thread after each commit with the number of
    records committed so far (keep it cheap; its exceptions are logged and ignored). `clock`
    is the wall clock retention measures age against.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_age_days: float = 30,
        max_bytes: int = 200 * 1024 * 1024,
        queue_size: int = 10_000,
        batch: int = 500,
        linger_s: float = 0.05,
        retention_interval_s: float = 60.0,
        on_commit: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not max_age_days > 0:
            raise ValueError(f"history: max_age_days must be above 0, got {max_age_days!r}")
        if max_bytes < 1024 * 1024:
            raise ValueError(f"history: max_bytes must be at least 1 MiB (1048576), got {max_bytes!r}")
        if queue_size < 1 or batch < 1:
            raise ValueError(f"history: queue_size and batch must be at least 1, got {queue_size!r} and {batch!r}")
        if retention_interval_s < 0:
            raise ValueError(f"history: retention_interval_s must be 0 or more, got {retention_interval_s!r}")
        self.path = Path(path)
        self.max_age_s = max_age_days * 86400.0
        self.max_bytes = max_bytes
        self._batch = batch
        self._linger_s = linger_s
        self._retention_interval_s = retention_interval_s
        self._on_commit = on_commit
        self._clock = clock
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._drop_lock = threading.Lock()
        self._dropped = 0
        self._committed = 0
        self._closed = False
        self._last_failure_log = -math.inf

        self._writer = sqlite_schema.open_writer(self.path)
        try:
            self._reader = sqlite_schema.connect(self.path, read_only=True)
        except HistoryError:
            self._writer.close()
            raise
        self._read_lock = threading.Lock()
        self._reader_closed = False
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()

    # -- the call path: never blocks, never raises --------------------------------------------

    def record_call(self, record: CallRecord) -> None:
        self._put(record)

    def record_event(self, record: EventRecord) -> None:
        self._put(record)

    def _put(self, item: object) -> None:
        if self._closed:
            self._count_dropped(1)
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._count_dropped(1)

    def _count_dropped(self, n: int) -> None:
        with self._drop_lock:
            self._dropped += n

    @property
    def dropped(self) -> int:
        """Records that never reached the file: the queue was full, the store was closed, or the write failed."""
        return self._dropped

    @property
    def committed(self) -> int:
        """Records committed to the file since this store was opened."""
        return self._committed

    # -- lifecycle -----------------------------------------------------------------------------

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every record handed over before this call is committed (or dropped).

        Blocks: not for the event loop. False if that did not happen within `timeout` seconds.
        """
        if not self._thread.is_alive():
            return self._queue.empty()
        done = threading.Event()
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(max(0.0, deadline - time.monotonic()))

    def close(self, timeout: float = 5.0) -> None:
        """Commit what is queued, stop the writer and close the file. Later records are dropped and counted."""
        if self._closed:
            return
        self._closed = True
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            log.warning("history: the writer did not take the stop request within %.0f s", timeout)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("history: the writer is still busy after %.0f s; leaving it to finish", timeout)
            return
        self._drain_dropped()
        with self._read_lock:
            self._reader.close()
            self._reader_closed = True

    def _drain_dropped(self) -> None:
        """Records that raced close() into the queue after the stop request: count them, never lose them silently."""
        n = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, threading.Event):
                item.set()
            else:
                n += 1
        self._count_dropped(n)

    # -- the writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        conn = self._writer
        tick = min(max(self._retention_interval_s, 1.0), 60.0)
        # Once at open: a gateway started after a long pause trims what aged meanwhile before it writes.
        self._enforce_retention(conn)
        last_retention = time.monotonic()
        batches_since_retention = 0
        try:
            while True:
                calls: list[CallRecord] = []
                events: list[EventRecord] = []
                waiting: list[threading.Event] = []
                stop = False
                try:
                    item: object = self._queue.get(timeout=tick)
                except queue.Empty:
                    item = None
                if isinstance(item, CallRecord | EventRecord) and self._linger_s > 0:
                    # Let the batch gather: one wake-up and one commit per `linger_s` under load, rather than
                    # one per call (each wake-up takes the GIL from the gateway's loop). A crash loses at most this.
                    time.sleep(self._linger_s)
                while item is not None:
                    if isinstance(item, CallRecord):
                        calls.append(item)
                    elif isinstance(item, EventRecord):
                        events.append(item)
                    elif isinstance(item, threading.Event):
                        waiting.append(item)
                    elif item is _STOP:
                        stop = True
                        break
                    if len(calls) + len(events) >= self._batch:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        item = None
                if calls or events:
                    self._write(conn, calls, events)
                    batches_since_retention += 1
                now = time.monotonic()
                if now - last_retention >= self._retention_interval_s or (
                    batches_since_retention >= _RETENTION_EVERY_BATCHES
                ):
                    self._enforce_retention(conn)
                    last_retention, batches_since_retention = now, 0
                for done in waiting:
                    done.set()
                if stop:
                    break
        finally:
            conn.close()

    def _write(self, conn: sqlite3.Connection, calls: list[CallRecord], events: list[EventRecord]) -> None:
        written = len(calls) + len(events)
        error = _insert(conn, calls, events)
        if error is not None and written > 1:
            # One bad record (a caller's bug) must not cost the whole batch: write them one by one.
            # On a full disk every one fails fast, which is no worse.
            written = 0
            for one_call, one_event in [*(([c], []) for c in calls), *(([], [e]) for e in events)]:
                failed = _insert(conn, one_call, one_event)
                written += failed is None
                error = failed or error
        if error is not None:
            lost = len(calls) + len(events) - written
            self._count_dropped(lost)
            self._log_failure("history: %d records not written to %s: %s", lost, self.path, error)
        if not written:
            return
        self._committed += written
        if self._on_commit is not None:
            try:
                self._on_commit(self._committed)
            except Exception:
                log.exception("history: on_commit callback failed")

    def _enforce_retention(self, conn: sqlite3.Connection) -> None:
        try:
            trimmed = sqlite_retention.enforce(
                conn, self.path, cutoff=self._clock() - self.max_age_s, max_bytes=self.max_bytes
            )
        except Exception as exc:
            self._log_failure("history: retention on %s failed: %s", self.path, exc)
            return
        if trimmed.by_size:
            log.info("history: removed the %d oldest records to keep %s under %d bytes", trimmed.by_size,
                     self.path, self.max_bytes)  # fmt: skip

    def _log_failure(self, message: str, *args: object) -> None:
        # A full disk fails every batch: say so once a minute, not once a batch.
        now = time.monotonic()
        if now - self._last_failure_log >= _FAILURE_LOG_INTERVAL_S:
            self._last_failure_log = now
            log.warning(message, *args)


def _insert(conn: sqlite3.Connection, calls: list[CallRecord], events: list[EventRecord]) -> Exception | None:
    """Write and commit these records in one transaction; the error instead if it failed (nothing written)."""
    try:
        call_rows = [sqlite_schema.call_row(r) for r in calls]
        event_rows = [sqlite_schema.event_row(r) for r in events]
        conn.execute("BEGIN")
        try:
            conn.executemany(sqlite_schema.INSERT_CALL, call_rows)
            conn.executemany(sqlite_schema.INSERT_EVENT, event_rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except Exception as exc:  # a full disk, a locked file, a record with a field of the wrong type
        return exc
    return None
