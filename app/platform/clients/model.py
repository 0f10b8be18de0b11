"""The values the client writers take and give: what to write, where the machine keeps things, what changed."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

System = Literal["linux", "darwin", "win32"]


def _this_system() -> System:
    if sys.platform == "darwin":
        return "darwin"
    if sys.platform == "win32":
        return "win32"
    return "linux"  # the BSDs lay out config like Linux


class ClientError(Exception):
    """A user-facing problem with a client: str() is one sentence that says what to do."""


class ClientFileError(ClientError):
    """A client file Switchboard cannot read or must not touch; str() names the file, the spot and the fix."""


def not_only_ours(path: Path) -> ClientFileError:
    """The edit's check failed: the new text would mean more than our entry changed. Never written."""
    return ClientFileError(
        f"{path}: Switchboard could not change only its own entry in this file's layout, so it left the file "
        "unchanged; add the entry by hand (the snippet) or tidy the file and try again."
    )


class UnknownClientError(ClientError, LookupError):
    """An id that names no client writer."""

    def __str__(self) -> str:  # LookupError would quote the message
        return str(self.args[0]) if self.args else ""


class EntryError(ClientError, ValueError):
    """An Entry a client cannot take (Claude Desktop and a URL-only entry, say)."""


@dataclass(frozen=True)
class Entry:
    """What Switchboard wants written into a client's file.

    Where a client takes a URL, `url` wins; `command` is used where it does not, or when `url` is None
    (the user chose `--via stdio`).
    """

    name: str
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    command: str | None = None
    args: Sequence[str] = ()

    def __repr__(self) -> str:
        # Header values carry the API key: never let a log line or a traceback print them.
        shown = {k: "***" for k in self.headers}
        return (
            f"Entry(name={self.name!r}, url={self.url!r}, headers={shown!r}, "
            f"command={self.command!r}, args={tuple(self.args)!r})"
        )


@dataclass(frozen=True)
class Change:
    """What a connect or disconnect did to one file."""

    path: Path
    changed: bool
    backup: Path | None  # the backup that holds the file as it was before Switchboard's first write, if any
    removed: tuple[str, ...] = ()  # other servers taken out (replace=True); they are in `backup`


@dataclass(frozen=True)
class Where:
    """The machine a writer looks at. Defaults are this machine; tests pass a throwaway home and any OS."""

    home: Path = field(default_factory=Path.home)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    system: System = field(default_factory=_this_system)

    def appdata(self) -> Path:
        """Windows %APPDATA% (Roaming)."""
        value = self.env.get("APPDATA")
        return Path(value) if value else self.home / "AppData" / "Roaming"

    def local_appdata(self) -> Path:
        """Windows %LOCALAPPDATA%."""
        value = self.env.get("LOCALAPPDATA")
        return Path(value) if value else self.home / "AppData" / "Local"

    def xdg_config(self) -> Path:
        value = self.env.get("XDG_CONFIG_HOME")
        return Path(value) if value else self.home / ".config"

    def app_config(self, linux: str, darwin: str, win32: str) -> Path:
        """Where Electron-style apps keep their user data on each OS (VS Code's `Code`, for one)."""
        if self.system == "darwin":
            return self.home / "Library" / "Application Support" / darwin
        if self.system == "win32":
            return self.appdata() / win32
        return self.xdg_config() / linux

    def which(self, command: str) -> str | None:
        return shutil.which(command, path=self.env.get("PATH", ""))

    def show(self, path: Path) -> str:
        """A path as a user reads it: `~/.cursor` rather than `/home/ann/.cursor`."""
        try:
            return "~/" + path.relative_to(self.home).as_posix()
        except ValueError:
            return str(path)

    def found(self, *paths: Path, commands: Sequence[str] = ()) -> tuple[bool, str]:
        """The first sign that a client is on this machine: a folder or file it made, or its command on PATH."""
        for path in paths:
            if path.exists():
                return True, f"{self.show(path)} exists"
        for command in commands:
            if self.which(command):
                return True, f"{command} on PATH"
        looked = [self.show(p) for p in paths] + [f"{c} on PATH" for c in commands]
        return False, "not found (looked for " + ", ".join(looked) + ")"
