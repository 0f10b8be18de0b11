"""The one interface every OS's launch-at-login module implements, and what they share."""

from __future__ import annotations

import contextlib
import os
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

SERVE = "serve"  # the verb appended for a headless login start


@dataclass(frozen=True)
class AutostartState:
    enabled: bool  # will Switchboard start at the next login?
    where: str  # the file or registry value that decides it
    detail: str  # one sentence for people: what runs, or why it will not


class AutostartError(Exception):
    """A user-facing failure (a file we must not overwrite, a folder we cannot write): one line, with the fix."""


class Autostart(ABC):
    @abstractmethod
    def status(self) -> AutostartState:
        """Read from the real files/registry every time; nothing is remembered."""

    @abstractmethod
    def enable(self, command: list[str], *, headless: bool = False) -> AutostartState:
        """Start `command` (the absolute argv of this Switchboard) at login; headless appends `serve`."""

    @abstractmethod
    def disable(self) -> AutostartState:
        """Remove everything enable() wrote, of either kind. Does not stop a running Switchboard."""


def login_argv(command: list[str], *, headless: bool) -> list[str]:
    """Check the argv the lead passes in and add the headless verb."""
    if not command or not all(isinstance(arg, str) for arg in command):
        raise ValueError(f"autostart needs a non-empty list of strings, got {command!r}")
    for arg in command:
        if any(ch in arg for ch in "\0\n\r"):
            raise AutostartError(f"cannot start at login: the argument {arg!r} contains a line break or NUL")
    return [*command, SERVE] if headless else list(command)


def describe(argv: list[str], shown: str) -> str:
    """'the Switchboard tray (CMD)' or 'the headless Switchboard gateway (CMD)'; `shown` is CMD as people read it."""
    what = "the headless Switchboard gateway" if argv[-1:] == [SERVE] else "the Switchboard tray"
    return f"{what} ({shown})"


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write via a temporary file in the same folder, so a crash never leaves half a file behind."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise AutostartError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise AutostartError(f"cannot write {path}: {exc.strerror}") from exc


def remove(path: Path) -> bool:
    """Delete a file or symlink; True if there was one."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise AutostartError(f"cannot remove {path}: {exc.strerror}") from exc
    return True


def prune_empty_dirs(*dirs: Path) -> None:
    """Remove folders left empty by disable(), innermost first; a folder with anything in it stays."""
    for folder in dirs:
        with contextlib.suppress(OSError):
            folder.rmdir()
