"""The SQLite history: real files in tmp_path, a real writer thread, real queries."""

from __future__ import annotations

import sqlite3
import stat
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.gateway.observe import MAX_PAGE, CallRecord, HistoryError, SqliteHistory, sqlite_schema
from tests.gateway.observe.factory import BASE_TIME, make_call, make_event

DAY = 86400.0


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "history.sqlite3"


@pytest.fixture
def open_store(db: Path) -> Iterator[type[SqliteHistory]]:
    """`open_store(**options)` opens a store on `db`; every store opened is closed at the end."""
    opened: list[SqliteHistory] = []

    def open_(**options: object) -> SqliteHistory:
        store = SqliteHistory(db, **options)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield open_  # type: ignore[misc]
    for store in opened:
        store.close()


def ids(records: list[CallRecord]) -> list[str]:
    return [r.call_id for r in records]


def test_every_field_lands_and_survives_reopening(open_store, db: Path) -> None:
    full = make_call(
        1,
        client_name="Cursor",
        client_version="0.50",
        transport="sse",
        key_name="laptop",
        server="git",
        tool="git__log",
        original="log",
        method="tools/call",
        arguments={"path": "/repo", "n": 3, "nested": {"ünï": ["c", "ode", None, 1.5]}},
        result_size=4096,
        content_kinds=("text", "image"),
        is_error=True,
        error="child said no",
        status="refused",
        duration_ms=12.5,
        request_id="req-9",
        progress_token="tok-1",
        result=[{"type": "text", "text": "…"}],
        decided_by="user",
        cached=True,
    )
    bare = make_call(2, arguments=None, result=None, result_size=None, content_kinds=(), duration_ms=None)
    event = make_event(3, kind="key_rotated", subject="main", detail="rotated from the panel")
    store = open_store()
    store.record_call(full)
    store.record_call(bare)
    store.record_event(event)
    assert store.flush()
    store.close()

    reopened = open_store()
    got = reopened.calls()
    assert [replace(r, id=None) for r in got] == [bare, full]  # newest first
    assert all(isinstance(r.id, int) for r in got)
    assert [replace(e, id=None) for e in reopened.events()] == [event]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_the_history_files_are_private_to_their_owner(open_store, db: Path) -> None:
    store = open_store()
    store.record_call(make_call(1))
    assert store.flush()
    wal = db.with_name(db.name + "-wal")
    assert wal.exists()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(wal.stat().st_mode) == 0o600


def test_filters_select_exactly_the_matching_calls(open_store) -> None:
    servers, statuses = ("files", "git", "web"), ("ok", "error", "timed out", "cancelled")
    records = [
        make_call(
            i,
            server=servers[i % 3],
            tool=f"{servers[i % 3]}__t{i % 2}",
            client_name=("claude-code", "cursor")[i % 2],
            key_name=("main", "ci")[i % 5 == 0],
            status=statuses[i % 4],
        )
        for i in range(60)
    ]
    store = open_store()
    for r in records:
        store.record_call(r)
    assert store.flush()

    def expect(keep) -> list[str]:
        return [r.call_id for r in sorted(records, key=lambda r: r.started_at, reverse=True) if keep(r)]

    assert ids(store.calls(server="git", limit=MAX_PAGE)) == expect(lambda r: r.server == "git")
    assert ids(store.calls(tool="web__t1", limit=MAX_PAGE)) == expect(lambda r: r.tool == "web__t1")
    assert ids(store.calls(client="cursor", limit=MAX_PAGE)) == expect(lambda r: r.client_name == "cursor")
    assert ids(store.calls(key_name="ci", limit=MAX_PAGE)) == expect(lambda r: r.key_name == "ci")
    assert ids(store.calls(status="timed out", limit=MAX_PAGE)) == expect(lambda r: r.status == "timed out")
    since = BASE_TIME + 45
    assert ids(store.calls(since=since, limit=MAX_PAGE)) == expect(lambda r: r.started_at >= since)
    assert ids(
        store.calls(server="files", status="ok", client="claude-code", since=BASE_TIME + 10, limit=MAX_PAGE)
    ) == (
        expect(
            lambda r: (
                r.server == "files"
                and r.status == "ok"
                and r.client_name == "claude-code"
                and r.started_at >= BASE_TIME + 10
            )
        )
    )
    assert store.calls(server="nobody") == []
    assert len(store.calls()) == 50  # the default page


def test_pages_are_newest_first_and_stable_while_records_arrive(open_store) -> None:
    # Groups of four share a start time: the cursor must still neither repeat nor skip one.
    records = [make_call(i, started_at=BASE_TIME + i // 4) for i in range(30)]
    store = open_store()
    for r in records:
        store.record_call(r)
    assert store.flush()
    # Newest start first; for the same start time, stored later first.
    expected = [f"call-{i}" for i in range(29, -1, -1)]
    first = store.calls(limit=7)
    assert ids(first) == expected[:7]

    seen = list(first)
    cursor = first[-1].id
    n = 100
    while True:
        # Newer and older records written between pages must not disturb the walk.
        store.record_call(make_call(n, started_at=BASE_TIME + 1000))
        store.record_call(make_call(n + 1, started_at=BASE_TIME - 1000))
        n += 2
        assert store.flush()
        page = store.calls(before_id=cursor, limit=7)
        if not page:
            break
        seen += page
        cursor = page[-1].id
    walked = [c for c in ids(seen) if int(c.split("-")[1]) < 100]
    assert walked == expected
    assert len(set(ids(seen))) == len(seen)


def test_events_filter_and_page(open_store) -> None:
    kinds = ("server_started", "server_crashed", "key_rotated")
    events = [make_event(i, kind=kinds[i % 3], subject=("files", "main")[i % 3 == 2]) for i in range(20)]
    store = open_store()
    for e in events:
        store.record_event(e)
    assert store.flush()
    crashed = store.events(kind="server_crashed", limit=MAX_PAGE)
    assert [e.detail for e in crashed] == [e.detail for e in reversed(events) if e.kind == "server_crashed"]
    assert {e.subject for e in store.events(subject="main", limit=MAX_PAGE)} == {"main"}
    assert len(store.events(since=BASE_TIME + 15, limit=MAX_PAGE)) == 5
    first = store.events(limit=8)
    rest = store.events(before_id=first[-1].id, limit=MAX_PAGE)
    assert [e.detail for e in first + rest] == [e.detail for e in reversed(events)]


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE + 1, True])
def test_a_page_size_out_of_range_is_a_clear_error(open_store, limit: int) -> None:
    store = open_store()
    with pytest.raises(ValueError, match=f"limit must be a whole number from 1 to {MAX_PAGE}"):
        store.calls(limit=limit)
    with pytest.raises(ValueError, match="limit must be"):
        store.events(limit=limit)


def test_filtered_pages_are_index_scans_in_page_order(db: Path, open_store) -> None:
    open_store()
    conn = sqlite3.connect(db)
    index = {"server": "calls_by_server", "tool": "calls_by_tool", "client_name": "calls_by_client",
             "key_name": "calls_by_key", "status": "calls_by_status"}  # fmt: skip
    assert set(index) == set(sqlite_schema.CALL_FILTERS.values())
    for column, name in index.items():
        sql, params = sqlite_schema.page_query(
            "calls", sqlite_schema.CALL_COLUMNS, "started_at", {column: "x"}, BASE_TIME, 5, 50
        )
        plan = " | ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
        assert f"USING INDEX {name}" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # no sort step: the index gives the order
    conn.close()


def test_values_orjson_cannot_encode_are_kept_as_text(open_store) -> None:
    store = open_store()
    store.record_call(make_call(1, arguments={"n": 2**70}))
    assert store.flush()
    [got] = store.calls()
    assert str(2**70) in got.arguments
    assert store.dropped == 0


def test_a_bad_record_is_dropped_alone_and_the_writer_goes_on(open_store) -> None:
    inside, release = threading.Event(), threading.Event()

    def hold(total: int) -> None:
        inside.set()
        release.wait()

    store = open_store(batch=50, on_commit=hold)
    store.record_call(make_call(0))
    assert inside.wait(30)  # the writer is held after committing call-0: what follows is one batch
    for i in range(1, 11):
        store.record_call(make_call(i, client_name=None) if i == 5 else make_call(i))  # NOT NULL refuses it
    store.record_event(make_event(11, detail=object()))  # not a type SQLite can bind
    release.set()
    assert store.flush()
    store.record_call(make_call(12))
    assert store.flush()
    assert store.dropped == 2
    assert ids(store.calls(limit=MAX_PAGE)) == [f"call-{i}" for i in (12, 10, 9, 8, 7, 6, 4, 3, 2, 1, 0)]
    assert store.events() == []
    assert store.committed == 11


def test_retention_deletes_what_is_past_its_age(open_store) -> None:
    now = [BASE_TIME + 40 * DAY]
    store = open_store(max_age_days=30, retention_interval_s=0, clock=lambda: now[0])
    store.record_call(make_call(1, started_at=now[0] - 31 * DAY))
    store.record_call(make_call(2, started_at=now[0] - 29 * DAY))
    store.record_event(make_event(3, at=now[0] - 31 * DAY, detail="old"))
    store.record_event(make_event(4, at=now[0] - 1, detail="new"))
    assert store.flush()
    assert ids(store.calls()) == ["call-2"]
    assert [e.detail for e in store.events()] == ["new"]

    now[0] += 2 * DAY  # call-2 is now 31 days old
    store.record_call(make_call(5, started_at=now[0]))
    assert store.flush()
    assert ids(store.calls()) == ["call-5"]


def test_retention_runs_while_no_record_arrives(open_store) -> None:
    """A gateway left idle over a weekend still lets go of what is past its age."""
    now = [BASE_TIME]
    store = open_store(max_age_days=1, retention_interval_s=0, clock=lambda: now[0])
    store.record_call(make_call(1, started_at=now[0]))
    assert store.flush()
    assert ids(store.calls()) == ["call-1"]
    now[0] += 2 * DAY
    deadline = time.monotonic() + 30
    while store.calls() and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for a condition the writer's idle wake-up brings about
    assert store.calls() == []


def test_retention_keeps_the_file_under_its_size_dropping_the_oldest(open_store) -> None:
    cap = 1024 * 1024
    store = open_store(max_bytes=cap, retention_interval_s=0, batch=100)
    for i in range(1200):  # about 5 MB of arguments
        store.record_call(make_call(i, arguments={"blob": f"{i:06d}" + "x" * 4000}))
        if i % 100 == 99:
            assert store.flush()
    assert store.flush()
    assert store.file_bytes() <= cap
    kept = [int(c.split("-")[1]) for c in ids(store.calls(limit=MAX_PAGE))]
    assert kept[0] == 1199  # the newest survives
    assert 0 < len(kept) < 1200
    assert kept == list(range(1199, 1199 - len(kept), -1))  # only the oldest went, none from the middle
    assert store.dropped == 0


def test_a_full_queue_drops_and_counts_without_blocking(open_store) -> None:
    """The writer is held inside its commit callback, so nothing leaves the queue until the test lets it."""
    inside, release = threading.Event(), threading.Event()

    def hold(total: int) -> None:
        inside.set()
        release.wait()

    store = open_store(queue_size=10, batch=5, on_commit=hold)
    store.record_call(make_call(0))
    assert inside.wait(30)  # the writer committed call-0 and is now stuck in `hold`

    finished = threading.Event()

    def producer() -> None:
        for i in range(1, 26):  # 10 fill the queue, 15 more find it full
            store.record_call(make_call(i))
        store.record_event(make_event(99))
        finished.set()

    threading.Thread(target=producer, daemon=True).start()
    # A put that blocked would wait for the held writer forever; these return with the writer still held.
    assert finished.wait(30)
    assert not release.is_set()
    assert store.dropped == 16
    release.set()
    assert store.flush()
    assert ids(store.calls(limit=MAX_PAGE)) == [f"call-{i}" for i in range(10, -1, -1)]
    assert store.events() == []
    assert store.dropped == 16


def test_records_after_close_are_counted_and_reads_say_closed(open_store) -> None:
    store = open_store()
    store.record_call(make_call(1))
    store.close()
    store.record_call(make_call(2))
    store.record_event(make_event(3))
    assert store.dropped == 2
    with pytest.raises(HistoryError, match="closed"):
        store.calls()
    assert ids(open_store().calls()) == ["call-1"]


def test_reads_from_other_threads_while_the_writer_commits(open_store) -> None:
    store = open_store(batch=50)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                page = store.calls(limit=20)
                assert ids(page) == sorted(ids(page), key=lambda c: -int(c.split("-")[1]))
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in readers:
        t.start()
    for i in range(2000):
        store.record_call(make_call(i))
    assert store.flush()
    stop.set()
    for t in readers:
        t.join(30)
    assert errors == []
    assert store.committed + store.dropped == 2000
    assert len(store.calls(limit=MAX_PAGE)) == min(store.committed, MAX_PAGE)


def test_a_file_that_is_not_a_history_is_refused_and_left_alone(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b'{"this": "is json"}\n')
    with pytest.raises(HistoryError, match=rf"{db.name} is not an SQLite database; move it aside"):
        SqliteHistory(db)
    assert db.read_bytes() == b'{"this": "is json"}\n'

    other = db.with_name("other.sqlite3")
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.commit()
    conn.close()
    with pytest.raises(HistoryError, match="some other SQLite database"):
        SqliteHistory(other)
    conn = sqlite3.connect(other)
    assert conn.execute("SELECT body FROM notes").fetchall() == [("keep me",)]
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]
    conn.close()


def test_a_history_from_a_newer_version_is_refused(db: Path) -> None:
    SqliteHistory(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {sqlite_schema.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(HistoryError, match="written by a newer Switchboard"):
        SqliteHistory(db)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_age_days": 0}, "max_age_days must be above 0"),
        ({"max_bytes": 1000}, "max_bytes must be at least 1 MiB"),
        ({"queue_size": 0}, "queue_size and batch must be at least 1"),
        ({"retention_interval_s": -1}, "retention_interval_s must be 0 or more"),
    ],
)
def test_bad_options_are_clear_errors(db: Path, options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SqliteHistory(db, **options)  # type: ignore[arg-type]
    assert not db.exists()
