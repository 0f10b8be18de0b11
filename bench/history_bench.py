"""What the history costs: `record_call` on the caller's thread, and the writer's throughput.

    python -m bench.history_bench [--records 50000] [--batch 500]

- caller: the time one `record_call` takes on the calling thread (the gateway's loop), with the
  writer thread running and committing at the same time, as it does in the gateway; and the
  time when the queue is full (the record is dropped and counted).
- writer: records committed per second by the writer thread alone: the queue is filled while
  the writer is held (in its commit callback), then released; the clock stops when flush() returns.

Records are the size the gateway stores: ~200 B of arguments and ~1 KiB of result, after shortening.
Every store lives in a temporary folder; nothing else is touched.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from app.gateway.observe import CallRecord, SqliteHistory

ARGUMENTS = {"path": "/home/user/project/src/module.py", "pattern": "def .*\\(", "context": 3, "flags": ["-n"] * 20}
RESULT = {"content": [{"type": "text", "text": "line of output\n" * 64}], "isError": False}


def record(i: int) -> CallRecord:
    return CallRecord(
        call_id=str(i), started_at=time.time(), client_name="claude-code", client_version="2.1.0",
        transport="streamable-http", key_name="main", server="files", tool="files__grep", original="grep",
        method="tools/call", arguments=ARGUMENTS, result_size=1024, content_kinds=("text",), is_error=False,
        error=None, status="ok", duration_ms=4.2, request_id=str(i), progress_token=None, result=RESULT,
        decided_by=None,
    )  # fmt: skip


def caller_cost(folder: Path, n: int, batch: int) -> dict[str, float]:
    records = [record(i) for i in range(n)]
    folder.mkdir(parents=True, exist_ok=True)
    store = SqliteHistory(folder / "caller.sqlite3", queue_size=n + 1, batch=batch)
    try:
        # Bulk: the mean, with the clock read only twice.
        start = time.perf_counter_ns()
        for r in records:
            store.record_call(r)
        bulk_us = (time.perf_counter_ns() - start) / n / 1000
        store.flush(120)
        # Call by call: the spread (each figure includes ~0.1 µs of clock reads).
        each: list[float] = []
        clock = time.perf_counter_ns
        for r in [replace(r, call_id=f"again-{r.call_id}") for r in records]:
            t = clock()
            store.record_call(r)
            each.append((clock() - t) / 1000)
        store.flush(120)
        dropped_while_writing = store.dropped
    finally:
        store.close()
    each.sort()

    # The full queue: the writer is held, so every put after the first is a drop.
    held, release = threading.Event(), threading.Event()

    def hold(total: int) -> None:
        held.set()
        release.wait()

    store = SqliteHistory(folder / "full.sqlite3", queue_size=1, on_commit=hold)
    try:
        store.record_call(records[0])
        held.wait(30)
        store.record_call(records[1])  # fills the one slot
        start = time.perf_counter_ns()
        for r in records:
            store.record_call(r)
        full_us = (time.perf_counter_ns() - start) / n / 1000
        assert store.dropped == n
        release.set()
    finally:
        release.set()
        store.close()
    return {
        "mean_us": bulk_us,
        "p50_us": each[len(each) // 2],
        "p99_us": each[int(len(each) * 0.99)],
        "max_us": each[-1],
        "dropped_while_writing": float(dropped_while_writing),
        "full_queue_us": full_us,
    }


def writer_throughput(folder: Path, n: int, batch: int) -> dict[str, float]:
    held, release = threading.Event(), threading.Event()
    first = [True]

    def hold(total: int) -> None:
        if first[0]:
            first[0] = False
            held.set()
            release.wait()

    path = folder / f"writer-{batch}.sqlite3"
    store = SqliteHistory(path, queue_size=n + 1, batch=batch, on_commit=hold)
    try:
        store.record_call(record(-1))
        held.wait(30)
        for i in range(n):
            store.record_call(record(i))
        start = time.perf_counter()
        release.set()
        store.flush(300)
        seconds = time.perf_counter() - start
        committed = store.committed - 1
        size = store.file_bytes()
    finally:
        release.set()
        store.close()
    return {"records_per_s": committed / seconds, "seconds": seconds, "bytes_per_record": size / (committed + 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="history-bench-") as tmp:
        folder = Path(tmp)
        callers = [caller_cost(folder / f"c{i}", args.records, args.batch) for i in range(args.rounds)]
        print(f"record_call on the caller's thread ({args.records} records, writer running, {args.rounds} rounds):")
        for key in ("mean_us", "p50_us", "p99_us", "max_us", "full_queue_us"):
            values = [c[key] for c in callers]
            rounds = ", ".join(f"{v:.2f}" for v in values)
            print(f"  {key:14} median {statistics.median(values):8.2f} µs   (rounds: {rounds})")
        print(f"  dropped while writing: {[int(c['dropped_while_writing']) for c in callers]}")
        print(f"writer alone ({args.records} records queued, then released):")
        for batch in sorted({100, args.batch, 2000}):
            runs = [writer_throughput(folder / f"w{batch}-{i}", args.records, batch) for i in range(args.rounds)]
            rates = [r["records_per_s"] for r in runs]
            print(
                f"  batch {batch:5}: median {statistics.median(rates):9,.0f} records/s   "
                f"(rounds: {', '.join(f'{v:,.0f}' for v in rates)}; {runs[0]['bytes_per_record']:.0f} B/record on disk)"
            )


if __name__ == "__main__":
    main()
