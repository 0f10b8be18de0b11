"""The narrow interface the gateway writes its history through.

Only SQLite is built (`SqliteHistory`); a server database (PostgreSQL for a team deployment)
can stand in later by implementing these few methods. The contract every store keeps:

- `record_call` / `record_event` never block and never raise: they hand the record to a
  bounded queue; when it is full the record is dropped and counted in `dropped`.
- `calls` / `events` return newest first (by start time, ties by storage order), at most
  `limit` records; pass the last record's `id` as `before_id` for the next page. A page never
  repeats or skips a record that existed when paging began, whatever is written meanwhile.
- `calls(text=...)` matches case-insensitively anywhere in the client, key, server, tool or error.
- Reads do blocking I/O: call them off the event loop (e.g. `asyncio.to_thread`).
"""

from __future__ import annotations

from typing import Protocol

from app.gateway.observe.records import CallRecord, EventRecord

MAX_PAGE = 1000


class HistoryError(Exception):
    """A history file that cannot be used (not a database, written by a newer version, closed)."""


class HistoryStore(Protocol):
    def record_call(self, record: CallRecord) -> None: ...

    def record_event(self, record: EventRecord) -> None: ...

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
    ) -> list[CallRecord]: ...

    def events(
        self,
        *,
        kind: str | None = None,
        subject: str | None = None,
        since: float | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[EventRecord]: ...

    @property
    def dropped(self) -> int: ...

    def flush(self, timeout: float = 5.0) -> bool: ...

    def close(self, timeout: float = 5.0) -> None: ...


def check_limit(limit: int) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_PAGE}, got {limit!r}")
