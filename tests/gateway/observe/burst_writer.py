"""A process that writes history records as fast as it can until it is killed.

    python -m tests.gateway.observe.burst_writer PATH BATCH

It prints the writer's committed total after every commit (from the writer thread, after the
commit returned), so the test knows what the file must hold when it kills this process.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from app.gateway.observe import SqliteHistory
from tests.gateway.observe.factory import make_call


def main() -> None:
    path, batch = Path(sys.argv[1]), int(sys.argv[2])
    history = SqliteHistory(path, batch=batch, queue_size=4 * batch, on_commit=lambda total: print(total, flush=True))
    i = dropped = 0
    while True:  # never closed: the test ends this process with SIGKILL
        history.record_call(make_call(i, arguments={"i": i, "pad": "x" * 200}))
        i += 1
        if history.dropped > dropped:
            # The queue is full: give the writer the CPU rather than spin on the queue's lock
            # (this keeps the queue topped up, so the writer is always mid-batch).
            dropped = history.dropped
            time.sleep(0.001)


if __name__ == "__main__":
    main()
