"""`switchboard logs`: the last lines of a log, and following it across rotation (like `tail -F`).

The logs rotate (RotatingFileHandler: LOG renamed to LOG.1, LOG.1 to LOG.2, a new LOG opened). The
follower tells files apart by identity (device, inode), not by name: when LOG is another file than the
one it was reading, it finds that one among LOG.1, LOG.2... and reads what it had not read yet, then
the newer rotated files, then the new LOG, so no line is lost or shown twice. It opens the file only
for each read, never holding it open between polls: on Windows an open file cannot be renamed, and
the gateway's own rotation would fail.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

POLL_S = 0.2
BLOCK = 64 * 1024


def last_lines(path: Path, count: int, *, upto: int | None = None) -> list[str]:
    """The last `count` lines of the file (of its first `upto` bytes); [] when there is no file."""
    if count <= 0:
        return []
    try:
        with open(path, "rb") as file:
            end = file.seek(0, os.SEEK_END) if upto is None else upto
            data = b""
            start = end
            while start > 0 and data.count(b"\n") <= count:
                start = max(0, start - BLOCK)
                file.seek(start)
                data = file.read(end - start)
    except OSError:
        return []
    lines = data.decode("utf-8", errors="replace").splitlines()
    return lines[-count:]


def _identity(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_dev, stat.st_ino


class LogFollower:
    """Reads what is appended to `path` after it was made; poll() returns the complete new lines."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._partial = b""
        try:
            stat = self.path.stat()
        except OSError:  # not there yet: everything it will hold is new
            self._current: tuple[int, int] | None = None
            self.position = 0
        else:
            self._current = _identity(stat)
            self.position = stat.st_size

    def poll(self) -> list[str]:
        try:
            stat = self.path.stat()
        except OSError:
            stat = None  # between a rotation's rename and the new file: read it next time
        data = b""
        if self._current is not None and (stat is None or _identity(stat) != self._current):
            data += self._drain_rotated()
            if stat is None:
                return self._lines(data)
        if stat is None:
            return []
        if self._current is None:
            self._current, self.position = _identity(stat), 0
        if stat.st_size < self.position:  # truncated in place (copytruncate, or a user's `> LOG`)
            self.position = 0
        data += self._read(self.path, self.position)
        return self._lines(data)

    def _read(self, path: Path, position: int) -> bytes:
        try:
            with open(path, "rb") as file:
                if _identity(os.fstat(file.fileno())) != self._current:
                    return b""  # rotated between stat and open: the next poll reads it as rotated
                file.seek(position)
                data = file.read()
        except OSError:
            return b""
        self.position = position + len(data)
        return data

    def _drain_rotated(self) -> bytes:
        """The rest of the file we were reading, now LOG.N, then the newer LOG.N-1 ... LOG.1 in full."""
        rotated = self._rotated_files()
        found = next((n for n, (ident, _p) in sorted(rotated.items()) if ident == self._current), None)
        data = b""
        if found is not None:
            data += self._read(rotated[found][1], self.position)
            for n in range(found - 1, 0, -1):
                if n in rotated:
                    self._current = rotated[n][0]
                    data += self._read(rotated[n][1], 0)
        # Else it was deleted, not rotated: what it held after our last read is gone with it.
        self._current, self.position = None, 0
        return data

    def _rotated_files(self) -> dict[int, tuple[tuple[int, int], Path]]:
        pattern = re.compile(re.escape(self.path.name) + r"\.(\d+)")
        found = {}
        try:
            entries = list(self.path.parent.iterdir())
        except OSError:
            return {}
        for entry in entries:
            match = pattern.fullmatch(entry.name)
            if match:
                try:
                    found[int(match.group(1))] = (_identity(entry.stat()), entry)
                except OSError:
                    continue
        return found

    def _lines(self, data: bytes) -> list[str]:
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        return [line.decode("utf-8", errors="replace").rstrip("\r") for line in complete]


def follow(path: Path, *, stop: Callable[[], bool] = lambda: False, poll_s: float = POLL_S) -> Iterator[str]:
    """Every line appended to `path` from now on, across rotations, until `stop()` (or forever)."""
    follower = LogFollower(path)
    while not stop():
        yield from follower.poll()
        time.sleep(poll_s)
