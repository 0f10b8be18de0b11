"""The SQLite history file: opening it safely, its tables, and records <-> rows.

JSON values (arguments, results, content kinds) are TEXT written by orjson. Every filter the
history pages by has an index on (column, started_at), so a filtered page is an index range
scan in the order the page is returned, however large the table is.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import orjson

from app.gateway.observe.history import HistoryError
from app.gateway.observe.records import CallRecord, EventRecord

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5000
# After a checkpoint the WAL file is cut back to this size (it is otherwise left at its peak).
JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024
_SQLITE_HEADER = b"SQLite format 3\x00"

CALL_COLUMNS = (
    "call_id", "started_at", "client_name", "client_version", "transport", "key_name", "server", "tool",
    "original", "method", "arguments", "result_size", "content_kinds", "is_error", "error", "status",
    "duration_ms", "request_id", "progress_token", "result", "decided_by", "cached",
)  # fmt: skip
EVENT_COLUMNS = ("at", "kind", "subject", "detail")
# The filters `calls()` and `events()` accept, keyword -> column.
CALL_FILTERS = {"server": "server", "tool": "tool", "client": "client_name", "key_name": "key_name", "status": "status"}
EVENT_FILTERS = {"kind": "kind", "subject": "subject"}
# What `calls(text=...)` searches (case-insensitive, anywhere in the value).
TEXT_COLUMNS = ("client_name", "key_name", "server", "tool", "original", "error")

_DDL = """
CREATE TABLE calls (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL,
    started_at REAL NOT NULL,
    client_name TEXT NOT NULL,
    client_version TEXT NOT NULL,
    transport TEXT NOT NULL,
    key_name TEXT NOT NULL,
    server TEXT NOT NULL,
    tool TEXT NOT NULL,
    original TEXT NOT NULL,
    method TEXT NOT NULL,
    arguments TEXT,
    result_size INTEGER,
    content_kinds TEXT NOT NULL,
    is_error INTEGER NOT NULL,
    error TEXT,
    status TEXT NOT NULL,
    duration_ms REAL,
    request_id TEXT,
    progress_token TEXT,
    result TEXT,
    decided_by TEXT,
    cached INTEGER NOT NULL
);
CREATE INDEX calls_by_time ON calls (started_at);
CREATE INDEX calls_by_server ON calls (server, started_at);
CREATE INDEX calls_by_tool ON calls (tool, started_at);
CREATE INDEX calls_by_client ON calls (client_name, started_at);
CREATE INDEX calls_by_key ON calls (key_name, started_at);
CREATE INDEX calls_by_status ON calls (status, started_at);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX events_by_time ON events (at);
CREATE INDEX events_by_kind ON events (kind, at);
CREATE INDEX events_by_subject ON events (subject, at);
"""


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), usable from any one thread at a time."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if read_only:
            conn.execute("PRAGMA query_only = 1")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _unusable(path, exc) from exc
    return conn


def open_writer(path: Path) -> sqlite3.Connection:
    """Open (creating if new) the history file for writing, or raise HistoryError; never overwrites a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryError(f"history: cannot create the folder {path.parent}: {exc.strerror}") from exc
    check_header(path)
    _create_private(path)
    conn = connect(path)
    try:
        # auto_vacuum only takes effect before the first table exists, i.e. on a new file.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL loses nothing on a process crash (kill -9); only an OS crash or
        # power loss can drop the last commits. The file stays valid either way.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
        _migrate(path, conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _unusable(path, exc) from exc
    except HistoryError:
        conn.close()
        raise
    return conn


def check_header(path: Path) -> None:
    try:
        with path.open("rb") as f:
            head = f.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise HistoryError(f"history: cannot read {path}: {exc.strerror}") from exc
    if head and head != _SQLITE_HEADER:
        raise HistoryError(f"history: {path} is not an SQLite database; move it aside and Switchboard starts a new one")


def _create_private(path: Path) -> None:
    """A new history file is readable by its owner only: arguments and results are masked, not
    harmless (file contents, queries). SQLite gives the -wal and -shm files the same mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise HistoryError(f"history: cannot create {path}: {exc.strerror}") from exc


def _migrate(path: Path, conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"history: {path} was written by a newer Switchboard (schema {version}, this one reads {SCHEMA_VERSION}); "
            "upgrade Switchboard or move the file aside"
        )
    if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise HistoryError(f"history: {path} is some other SQLite database; move it aside or choose another path")
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have created it while this one waited for the write lock.
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            for statement in filter(str.strip, _DDL.split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _unusable(path: Path, exc: sqlite3.DatabaseError) -> HistoryError:
    return HistoryError(f"history: cannot use {path}: {exc}; move it aside and Switchboard starts a new one")


def _json(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    except (TypeError, orjson.JSONEncodeError):
        # Integers past 64 bits and the like: keep a readable text rather than lose the record.
        return orjson.dumps(repr(value)).decode()


def _unjson(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def call_row(r: CallRecord) -> tuple[Any, ...]:
    return (
        r.call_id, r.started_at, r.client_name, r.client_version, r.transport, r.key_name, r.server, r.tool,
        r.original, r.method, _json(r.arguments), r.result_size, _json(list(r.content_kinds)), int(r.is_error),
        r.error, r.status, r.duration_ms, r.request_id, r.progress_token, _json(r.result), r.decided_by,
        int(r.cached),
    )  # fmt: skip


def event_row(r: EventRecord) -> tuple[Any, ...]:
    return (r.at, r.kind, r.subject, r.detail)


def call_record(row: sqlite3.Row | tuple[Any, ...]) -> CallRecord:
    (rid, call_id, started_at, client_name, client_version, transport, key_name, server, tool, original, method,
     arguments, result_size, content_kinds, is_error, error, status, duration_ms, request_id, progress_token,
     result, decided_by, cached) = row  # fmt: skip
    return CallRecord(
        call_id=call_id, started_at=started_at, client_name=client_name, client_version=client_version,
        transport=transport, key_name=key_name, server=server, tool=tool, original=original, method=method,
        arguments=_unjson(arguments), result_size=result_size, content_kinds=tuple(_unjson(content_kinds)),
        is_error=bool(is_error), error=error, status=status, duration_ms=duration_ms, request_id=request_id,
        progress_token=progress_token, result=_unjson(result), decided_by=decided_by, cached=bool(cached), id=rid,
    )  # fmt: skip


def event_record(row: sqlite3.Row | tuple[Any, ...]) -> EventRecord:
    rid, at, kind, subject, detail = row
    return EventRecord(at=at, kind=kind, subject=subject, detail=detail, id=rid)


INSERT_CALL = f"INSERT INTO calls ({', '.join(CALL_COLUMNS)}) VALUES ({', '.join('?' * len(CALL_COLUMNS))})"
INSERT_EVENT = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"


def page_query(
    table: str,
    columns: tuple[str, ...],
    time_column: str,
    equals: dict[str, str | None],
    since: float | None,
    before_id: int | None,
    limit: int,
    text: str | None = None,
) -> tuple[str, list[Any]]:
    """SELECT for one page, newest first by (time, id); `before_id` continues after that row.

    Column names come from this module's constants only; values are always bound parameters.
    """  # fmt: skip
    where: list[str] = []
    params: list[Any] = []
    for column, value in equals.items():
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in TEXT_COLUMNS) + ")")
        params.extend([pattern] * len(TEXT_COLUMNS))
    if since is not None:
        where.append(f"{time_column} >= ?")
        params.append(since)
    if before_id is not None:
        # A row-value comparison keeps the order total even when two records share a start time.
        # If that row was deleted by retention, everything older went with it: the page is empty.
        where.append(f"({time_column}, id) < (SELECT {time_column}, id FROM {table} WHERE id = ?)")
        params.append(before_id)
    sql = f"SELECT id, {', '.join(columns)} FROM {table}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {time_column} DESC, id DESC LIMIT ?"
    params.append(limit)
    return sql, params
