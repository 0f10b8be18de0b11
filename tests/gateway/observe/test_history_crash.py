"""kill -9 of a process writing a burst of history: the file opens, is intact, and holds every
batch the writer reported committed (and at most one batch more)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from app.gateway.observe import SqliteHistory
from tests.conftest import ROOT

BATCH = 200


def test_kill_9_mid_burst_keeps_every_committed_batch(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.gateway.observe.burst_writer", str(db), str(BATCH)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        reported = 0
        commits = 0
        # Wait for a good few commits, so the kill lands in the middle of a steady burst.
        while commits < 20 or reported < 10 * BATCH:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line, f"the writer exited early: {proc.stderr.read()}"  # type: ignore[union-attr]
            reported, commits = int(line), commits + 1
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # Every commit printed before the kill: the file must hold the last of them.
    reported = max([reported, *(int(n) for n in out.split())])

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    stored = conn.execute("SELECT count(*) FROM calls").fetchone()[0]
    conn.close()
    # A commit whose line the kill cut off is the only thing beyond what was reported.
    assert reported <= stored <= reported + BATCH

    history = SqliteHistory(db)  # and the store itself reopens it and goes on
    try:
        assert len(history.calls(limit=10)) == 10
    finally:
        history.close()
