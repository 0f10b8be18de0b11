"""Reading the SQLite history: the queries the store and a read-only reader share.

`SqliteHistoryReader` opens a history file for reading only (the `switchboard history` verb, while
the gateway may be writing it in another process: WAL lets both run). It never creates, migrates or
trims the file. Reads do blocking I/O: call them off any event loop.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from app.gateway.observe import sqlite_retention, sqlite_schema
from app.gateway.observe.history import HistoryError, check_limit
from app.gateway.observe.records import CallRecord, EventRecord


class SqliteReads:
    """The read half of the history (see `HistoryStore`): subclasses set `path`, `_reader`, `_read_lock`."""

    path: Path
    _reader: sqlite3.Connection
    _read_lock: threading.Lock
    _reader_closed: bool

    def calls(
        self,
        *,
        server: str | None = None,
        tool: str | None = None,
        client: str | None = None,
        key_name: str | None = None,
        status: str | None = None,
        since: float | None = None,
        before_id: int | None = None,
        limit: int = 50,
        text: str | None = None,
    ) -> list[CallRecord]:
        """`text`: matched anywhere (case-insensitive) in the client, key, server, tool or error."""
        check_limit(limit)
        values = {"server": server, "tool": tool, "client": client, "key_name": key_name, "status": status}
        equals = {sqlite_schema.CALL_FILTERS[k]: v for k, v in values.items()}
        sql, params = sqlite_schema.page_query(
            "calls", sqlite_schema.CALL_COLUMNS, "started_at", equals, since, before_id, limit, text
        )
        return [sqlite_schema.call_record(row) for row in self._read(sql, params)]

    def events(
        self,
        *,
        kind: str | None = None,
        subject: str | None = None,
        since: float | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[EventRecord]:
        check_limit(limit)
        values = {"kind": kind, "subject": subject}
        equals = {sqlite_schema.EVENT_FILTERS[k]: v for k, v in values.items()}
        sql, params = sqlite_schema.page_query(
            "events", sqlite_schema.EVENT_COLUMNS, "at", equals, since, before_id, limit
        )
        return [sqlite_schema.event_record(row) for row in self._read(sql, params)]

    def file_bytes(self) -> int:
        """What the history costs on disk now (main file plus WAL), the figure `max_bytes` caps."""
        with self._read_lock:
            self._check_open()
            return sqlite_retention.file_bytes(self._reader, self.path)

    def _read(self, sql: str, params: list[object]) -> list[tuple[object, ...]]:
        with self._read_lock:
            self._check_open()
            try:
                return self._reader.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:  # a file damaged on disk, a disk that went away
                raise HistoryError(f"history: cannot read {self.path}: {exc}") from exc

    def _check_open(self) -> None:
        if self._reader_closed:
            raise HistoryError("history: the store is closed")


class SqliteHistoryReader(SqliteReads):
    """A history file opened for reading only. Raises HistoryError, naming the file and the fix, when it
    does not exist, is not a history database, or was written by a newer Switchboard."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise HistoryError(f"history: {self.path} does not exist yet; the gateway creates it when it first runs")
        sqlite_schema.check_header(self.path)
        self._reader = sqlite_schema.connect(self.path, read_only=True)
        try:
            version = self._reader.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            self._reader.close()
            raise HistoryError(f"history: cannot use {self.path}: {exc}") from exc
        if version != sqlite_schema.SCHEMA_VERSION:
            self._reader.close()
            if version > sqlite_schema.SCHEMA_VERSION:
                raise HistoryError(
                    f"history: {self.path} was written by a newer Switchboard (schema {version}); upgrade Switchboard"
                )
            raise HistoryError(f"history: {self.path} is not a Switchboard history file")
        self._read_lock = threading.Lock()
        self._reader_closed = False

    def close(self) -> None:
        with self._read_lock:
            if not self._reader_closed:
                self._reader.close()
                self._reader_closed = True

    def __enter__(self) -> SqliteHistoryReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
