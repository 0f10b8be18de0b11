"""Keeping the history file within its limits: records past their age go, then the oldest
records until the file is under its size. Runs on the writer thread, between batches.

Size is what the file costs on disk: the main file (page_count * page_size) plus the WAL.
Deleted rows free pages inside the file; `incremental_vacuum` gives them back to the OS
(the file is created with auto_vacuum = INCREMENTAL) and a TRUNCATE checkpoint empties the WAL.
"""

from __future__ import annotations

import math
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

# Trim to a little under the cap, so a file at its limit is not trimmed again after every batch.
TRIM_TO = 0.9
_MAX_PASSES = 32


@dataclass(frozen=True, slots=True)
class Trimmed:
    by_age: int
    by_size: int


def file_bytes(conn: sqlite3.Connection, path: Path) -> int:
    """What the history costs on disk now: the main file's pages plus its WAL."""
    return _pragma(conn, "page_count") * _pragma(conn, "page_size") + _wal_bytes(path)


def enforce(conn: sqlite3.Connection, path: Path, *, cutoff: float, max_bytes: int) -> Trimmed:
    """Delete calls and events older than `cutoff` (wall-clock seconds), then the oldest until under `max_bytes`."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        by_age = conn.execute("DELETE FROM calls WHERE started_at < ?", (cutoff,)).rowcount
        by_age += conn.execute("DELETE FROM events WHERE at < ?", (cutoff,)).rowcount
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if by_age:
        _shrink(conn)
    by_size = 0
    if file_bytes(conn, path) > max_bytes:
        by_size = _trim_to_size(conn, path, int(max_bytes * TRIM_TO))
    return Trimmed(by_age, by_size)


def _trim_to_size(conn: sqlite3.Connection, path: Path, target: int) -> int:
    deleted = 0
    _shrink(conn)  # a WAL left at its peak is often all the excess
    for _ in range(_MAX_PASSES):
        page_size = _pragma(conn, "page_size")
        used = (_pragma(conn, "page_count") - _pragma(conn, "freelist_count")) * page_size
        excess = used + _wal_bytes(path) - target
        if excess <= 0:
            break
        # Calls are nearly all of the file; events go only once no call is left.
        for table, time_column in (("calls", "started_at"), ("events", "at")):
            rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            if rows:
                # Rows are roughly alike in size: delete the share of them the excess is of the file.
                n = max(1, math.ceil(rows * excess / used))
                conn.execute("BEGIN IMMEDIATE")
                try:
                    deleted += conn.execute(
                        f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} ORDER BY {time_column}, id LIMIT ?)",
                        (n,),
                    ).rowcount
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                _shrink(conn)
                break
        else:
            break  # nothing left to delete: the schema alone is over the target
    return deleted


def _shrink(conn: sqlite3.Connection) -> None:
    # Through executescript: it steps the statement to the end, and each step frees one page
    # (execute() + fetchall() stops after the first and frees a single page).
    conn.executescript("PRAGMA incremental_vacuum;")
    # Best effort: a reader holding an old snapshot keeps the WAL; the next pass tries again.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _pragma(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute(f"PRAGMA {name}").fetchone()[0])


def _wal_bytes(path: Path) -> int:
    try:
        return os.stat(f"{path}-wal").st_size
    except FileNotFoundError:
        return 0
