"""A child's stderr: a rotating log file of its own plus a short in-memory tail for the panel."""

from __future__ import annotations

import collections
import logging
import logging.handlers
import os
import re
import threading
from pathlib import Path
from typing import Any, TextIO

import anyio

TAIL_LINES = 200
LOG_BYTES = 1_000_000
LOG_BACKUPS = 3


def log_file_name(child: str) -> str:
    return "child-" + re.sub(r"[^A-Za-z0-9_.-]", "_", child) + ".log"


class StderrCapture:
    """Collects one child's stderr: a rotating file in the log dir plus a short in-memory tail.

    Each start gets a fresh OS pipe whose write end the child inherits; a daemon thread reads
    the other end until the child (and anything it spawned) closes it. A thread keeps this
    independent of the event loop in use (asyncio, qasync).
    """

    def __init__(self, child: str, log_dir: Path) -> None:
        self.child = child
        self.path = log_dir / log_file_name(child)
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._count = 0  # lines seen so far
        self._mark = 0  # `_count` when the child last came up
        self._eof = threading.Event()
        self._eof.set()
        self._write_end: _CloseAfterSpawn | None = None
        # A logger of its own, outside the global registry: this file only, never the gateway's log.
        self._logger = logging.Logger(f"child.{child}", logging.INFO)
        log_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            self.path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8", delay=True
        )
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        self._logger.addHandler(handler)

    def open_pipe(self) -> TextIO:
        """A write end for the next child process. Our copy is closed once the child holds its own."""
        read_fd, write_fd = os.pipe()
        self.adopt_pipe(read_fd)
        self._write_end = _CloseAfterSpawn(write_fd)
        return self._write_end  # type: ignore[return-value]  # only fileno() is ever used

    def adopt_pipe(self, read_fd: int) -> None:
        """Read the child's stderr from `read_fd` (a pipe's read end; open_pipe's, or that of a process spawned
        before the gateway's imports, app/prestart.py)."""
        self._eof = threading.Event()
        threading.Thread(
            target=self._drain, args=(read_fd, self._eof), name=f"stderr-{self.child}", daemon=True
        ).start()
        self._write_end = None

    def _drain(self, read_fd: int, eof: threading.Event) -> None:
        try:
            with open(read_fd, encoding="utf-8", errors="replace") as stream:
                for line in stream:
                    text = line.rstrip("\n")
                    self.tail.append(text)
                    self._count += 1
                    self._logger.info("%s", text)
        finally:
            eof.set()

    async def settle(self, timeout: float = 0.5) -> None:
        """Wait (briefly) until everything an exited child wrote has been read, so its last words
        can explain why it stopped. Also closes our write end if the spawn never took it (a failed
        spawn, or a platform that spawns off the loop), so no descriptor or reader thread is left."""
        if self._write_end is not None:
            self._write_end.close()
            self._write_end = None
        with anyio.move_on_after(timeout):
            while not self._eof.is_set():
                await anyio.sleep(0.01)

    def mark(self) -> None:
        """The child is up: what it printed so far does not explain a later exit."""
        self._mark = self._count

    def last_line(self) -> str | None:
        """The last non-blank line written since `mark()`, as a hint to why the child stopped."""
        fresh = min(self._count - self._mark, len(self.tail))
        for line in list(self.tail)[len(self.tail) - fresh :][::-1]:
            if line.strip():
                return line.strip()[:300]
        return None


class _CloseAfterSpawn:
    """A file-like write end whose fd is handed to the child; closed in this process after spawning.

    anyio/subprocess only call `fileno()`. Closing our copy right after the spawn matters: the
    reader thread sees end-of-file when the child exits only if no other write end is open.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        fd = self._fd
        # subprocess dups the fd into the child during spawn, which happens right after this call
        # returns; close ours on the next loop turn, when the spawn is over.
        loop = _running_loop()
        if loop is not None:
            loop.call_soon(self.close)
        return fd

    def close(self) -> None:
        if self._fd >= 0:
            try:
                os.close(self._fd)
            finally:
                self._fd = -1

    def write(self, text: str) -> int:  # pragma: no cover - only the child writes
        return len(text)

    def flush(self) -> None:  # pragma: no cover
        pass


def _running_loop() -> Any:
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
