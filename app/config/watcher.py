"""One thread that notices when files change: the config file, the API key's stamp file.

It polls each file's (inode, mtime, size) — one `stat` per file per tick, off every event loop —
because a poll works the same on every OS and filesystem and an atomic rename (how every writer
here saves) always changes the inode. Callbacks run on the watcher's thread: keep them short and
hand the work to whoever owns it (an event loop's call_soon_threadsafe, a Qt signal).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)
Stamp = tuple[int, int, int] | None
POLL_INTERVAL = 0.25


def stamp_of(path: Path) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class FileWatcher:
    def __init__(self, interval: float = POLL_INTERVAL) -> None:
        self.interval = interval
        self._watched: dict[int, tuple[Path, Callable[[], None], Stamp]] = {}
        self._ids = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, path: Path, on_change: Callable[[], None]) -> Callable[[], None]:
        """Call `on_change()` (on the watcher thread) whenever `path` changes. Returns the unwatch function."""
        with self._lock:
            self._ids += 1
            ident = self._ids
            self._watched[ident] = (path, on_change, stamp_of(path))

        def unwatch() -> None:
            with self._lock:
                self._watched.pop(ident, None)

        return unwatch

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="switchboard-file-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def check_now(self) -> None:
        """Poll once, on the calling thread."""
        with self._lock:
            items = list(self._watched.items())
        for ident, (path, on_change, before) in items:
            now = stamp_of(path)
            if now == before:
                continue
            with self._lock:
                if ident in self._watched:
                    self._watched[ident] = (path, on_change, now)
            try:
                on_change()
            except Exception:  # one broken subscriber must not stop the watching of the others
                log.exception("reacting to a change of %s failed", path)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check_now()
