"""One Switchboard per user, whatever starts it: an OS lock held for the process's lifetime, plus runtime.json.

The lock (STATE_DIR/instance.lock) is the truth: the OS drops it when its process dies, even on kill -9.
runtime.json says who holds it (pid, URL, how it was started) and is trusted only while the lock is held
*and* its pid is alive with the start time it recorded (a pid reused by another program has another one).
So a file left behind by a crash is never believed, and the next instance simply replaces it.

The lock file itself is never deleted: unlinking a lock file lets two processes lock two different inodes.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import psutil
from pydantic import TypeAdapter, ValidationError

from app import __version__

LOCK_NAME = "instance.lock"
RUNTIME_NAME = "runtime.json"
Mode = Literal["tray", "headless"]

# create_time() is derived from the boot time, which the kernel may re-estimate by a fraction of a second
# after a clock adjustment; a reused pid differs by far more than this.
START_TIME_TOLERANCE_S = 1.0
# How long acquire() waits for a process that holds the lock to publish runtime.json (it does so right
# after locking, so this only runs out when something other than Switchboard holds the lock).
DEFAULT_ACQUIRE_TIMEOUT_S = 10.0
POLL_S = 0.05


@dataclasses.dataclass(frozen=True, kw_only=True)
class RuntimeInfo:
    """What a running instance publishes in runtime.json."""

    pid: int
    url: str | None = None
    port: int | None = None
    version: str
    started_at: float  # wall clock (time.time()), for people: "running since"
    mode: Mode
    process_started: float  # psutil.Process(pid).create_time(): tells a reused pid from ours
    config: str  # the config file in use
    control: str | None = None  # how to reach it for stop/status; opaque here (the lead's admin URL)

    @classmethod
    def for_this_process(
        cls,
        *,
        mode: Mode,
        config: str | os.PathLike[str],
        url: str | None = None,
        port: int | None = None,
        control: str | None = None,
        version: str = __version__,
    ) -> RuntimeInfo:
        me = psutil.Process()
        return cls(
            pid=me.pid,
            url=url,
            port=port,
            version=version,
            started_at=time.time(),
            mode=mode,
            process_started=me.create_time(),
            config=str(config),
            control=control,
        )

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> RuntimeInfo:
        """Raises ValueError (pydantic's ValidationError) when the text is not a complete, well-typed record."""
        return _ADAPTER.validate_json(text, strict=True)


_ADAPTER = TypeAdapter(RuntimeInfo)


class InstanceLockError(RuntimeError):
    """The lock could not be taken or published; the message names the file and what to do."""


class InstanceLock:
    """The per-user instance lock. acquire() once at start-up; release() at quit (also run at exit)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.lock_path = self.state_dir / LOCK_NAME
        self.runtime_path = self.state_dir / RUNTIME_NAME
        self._fd: int | None = None
        self._owner_pid: int | None = None
        self._info: RuntimeInfo | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    @property
    def info(self) -> RuntimeInfo | None:
        """What this process published (None unless it holds the lock)."""
        return self._info

    def acquire(self, info: RuntimeInfo, *, timeout: float = DEFAULT_ACQUIRE_TIMEOUT_S) -> RuntimeInfo | None:
        """None: this process now holds the lock and runtime.json says `info`.

        Otherwise the running instance's info: this process must not start a gateway.
        """
        if self._fd is not None:
            raise RuntimeError("InstanceLock.acquire() called twice")
        if info.pid != os.getpid():
            raise ValueError(f"RuntimeInfo.pid is {info.pid}, but the lock is taken by pid {os.getpid()}")
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise InstanceLockError(
                f"cannot open {self.lock_path}: {exc.strerror}; check that folder's permissions"
            ) from exc
        try:
            running = _lock_or_find_holder(fd, self.lock_path, self.runtime_path, timeout)
        except BaseException:
            os.close(fd)
            raise
        if running is not None:
            os.close(fd)
            return running
        self._fd, self._owner_pid = fd, os.getpid()
        try:
            self._publish(info)
        except BaseException:
            self.release()
            raise
        atexit.register(self.release)
        return None

    def update(self, **changes: Any) -> RuntimeInfo:
        """Publish changed fields (e.g. url=..., port=... once bound). Returns the new info."""
        if self._info is None:
            raise RuntimeError("InstanceLock.update() before a successful acquire()")
        new = dataclasses.replace(self._info, **changes)
        # A wrong type fails here, in the writer, rather than making every reader distrust the file.
        RuntimeInfo.from_json(new.to_json())
        self._publish(new)
        return new

    def release(self) -> None:
        """Remove runtime.json and drop the lock. Idempotent; registered with atexit by acquire()."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        atexit.unregister(self.release)
        self._info = None
        if os.getpid() != self._owner_pid:
            # A forked child inherited the descriptor: the lock and the file belong to the parent.
            os.close(fd)
            return
        # The file goes first: a lock without a file reads as "shutting down". A file that cannot be
        # removed is harmless: without the lock behind it, nobody trusts it.
        with contextlib.suppress(OSError):
            self.runtime_path.unlink(missing_ok=True)
        _unlock(fd)
        os.close(fd)

    def _publish(self, info: RuntimeInfo) -> None:
        try:
            _write_private_atomically(self.runtime_path, info.to_json().encode())
        except OSError as exc:
            raise InstanceLockError(f"cannot write {self.runtime_path}: {exc.strerror}") from exc
        self._info = info


def _lock_or_find_holder(fd: int, lock_path: Path, runtime_path: Path, timeout: float) -> RuntimeInfo | None:
    """None once `fd` holds the lock; else the holder's info, as soon as it has published a trustworthy one."""
    deadline = time.monotonic() + timeout
    while not _try_lock(fd):
        # Someone holds the lock: the running instance (or, for a moment, another process's
        # running_instance() probe). Believe runtime.json only if its process is alive.
        running = _read_runtime(runtime_path)
        if running is not None and _process_matches(running):
            return running
        if time.monotonic() >= deadline:
            raise InstanceLockError(
                f"another process holds {lock_path} but {runtime_path} does not name it; "
                "if no Switchboard is running, find that process (e.g. `fuser` on the lock file) and stop it"
            )
        time.sleep(POLL_S)
    return None


def running_instance(state_dir: Path) -> RuntimeInfo | None:
    """The live instance's info, or None. Read-only: never writes, never deletes a stale file.

    A runtime.json that does not parse, names a dead pid, names a live pid with another start time
    (a reused pid), or is not backed by a held lock (its process lost it, or is a zombie) is not trusted.
    """
    state_dir = Path(state_dir)
    info = _read_runtime(state_dir / RUNTIME_NAME)
    if info is None or not _process_matches(info):
        return None
    return info if _lock_is_held(state_dir / LOCK_NAME) else None


def _read_runtime(path: Path) -> RuntimeInfo | None:
    try:
        return RuntimeInfo.from_json(path.read_bytes())
    except (OSError, ValidationError, ValueError):
        return None


def _process_matches(info: RuntimeInfo) -> bool:
    try:
        process = psutil.Process(info.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return abs(process.create_time() - info.process_started) <= START_TIME_TOLERANCE_S
    except (psutil.Error, ValueError):  # gone, not ours to inspect, or a negative pid
        return False


def _lock_is_held(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDWR)  # no O_CREAT: a missing lock file means nobody ever held it
    except OSError:
        return False
    try:
        if _try_lock(fd):
            _unlock(fd)
            return False
        return True
    finally:
        os.close(fd)


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # one byte; locking past the end of file is allowed
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        # flock, not lockf: flock belongs to the open file, so an unrelated close() of the same path
        # elsewhere in this process (e.g. running_instance()) cannot drop it.
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _write_private_atomically(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of one; mode 0600 from the first byte."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        for attempt in range(20):
            try:
                os.replace(tmp, path)
                break
            except PermissionError:
                # Windows refuses to replace a file another process has open for a moment (a reader).
                if sys.platform != "win32" or attempt == 19:
                    raise
                time.sleep(POLL_S)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
