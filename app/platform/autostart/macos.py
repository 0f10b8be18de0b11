"""macOS: a LaunchAgent in ~/Library/LaunchAgents, which launchd loads (and, RunAtLoad, starts) at every login.

Enabling does not `launchctl bootstrap` the job: with RunAtLoad that would start a second Switchboard
right now, beside the one the user is clicking in. Disabling does not `bootout` a job that is running:
that would stop the Switchboard the user is using; "off" means "not at the next login". A loaded job
that is not running is booted out, so launchd keeps nothing of ours. `launchctl` sits behind a seam
(a callable) so tests on Linux can stand in for it.
"""

from __future__ import annotations

import os
import plistlib
import re
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.platform.autostart.base import (
    Autostart,
    AutostartError,
    AutostartState,
    describe,
    login_argv,
    remove,
    write_atomically,
)

LABEL = "dev.switchboard.app"

# The seam: launchctl's arguments in, the finished process out.
Launchctl = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def run_launchctl(args: list[str]) -> subprocess.CompletedProcess[str]:
    argv = ["launchctl", *args]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


def agent(argv: list[str], *, headless: bool) -> dict[str, Any]:
    return {
        "Label": LABEL,
        "ProgramArguments": argv,
        "RunAtLoad": True,
        # The tray is quit by its user: never bring it back. The headless gateway comes back after a
        # crash, not after a clean exit (e.g. "another Switchboard is already running").
        "KeepAlive": {"SuccessfulExit": False} if headless else False,
        "ProcessType": "Standard" if headless else "Interactive",
    }


class MacAutostart(Autostart):
    def __init__(self, home: Path, *, launchctl: Launchctl = run_launchctl, uid: int | None = None) -> None:
        self.plist_path = home / "Library" / "LaunchAgents" / f"{LABEL}.plist"
        self._launchctl = launchctl
        self._domain = f"gui/{os.getuid() if uid is None else uid}"

    @property
    def service(self) -> str:
        return f"{self._domain}/{LABEL}"

    def _read(self) -> dict[str, Any] | None:
        """The agent's dict, None if there is no file. Raises OSError, or ValueError when it does not parse."""
        try:
            data = self.plist_path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            parsed = plistlib.loads(data)
        except Exception as exc:  # plistlib raises InvalidFileException, ExpatError, ValueError...
            raise ValueError(" ".join(str(exc).split()) or type(exc).__name__) from exc
        args = parsed.get("ProgramArguments") if isinstance(parsed, dict) else None
        if not (isinstance(args, list) and args and all(isinstance(arg, str) for arg in args)):
            raise ValueError("no ProgramArguments list")
        return parsed

    def status(self) -> AutostartState:
        where = str(self.plist_path)
        try:
            parsed = self._read()
        except OSError as exc:
            return AutostartState(False, where, f"{where} cannot be read ({exc.strerror}).")
        except ValueError as exc:
            return AutostartState(False, where, _unparseable(where, str(exc)))
        if parsed is None:
            return AutostartState(False, where, "Switchboard does not start at login.")
        argv: list[str] = parsed["ProgramArguments"]
        shown = describe(argv, shlex.join(argv))
        if self._disabled_in_launchd():
            return AutostartState(
                False, where, f"launchd has {shown} disabled; turn launch at login off and on again to clear that."
            )
        if not Path(argv[0]).exists():
            return AutostartState(False, where, f"{argv[0]} no longer exists; turn launch at login on again.")
        return AutostartState(True, where, f"At login launchd starts {shown}.")

    def _disabled_in_launchd(self) -> bool:
        """`launchctl disable` (or an old override) wins over RunAtLoad; print-disabled lists those overrides."""
        out = self._launchctl(["print-disabled", self._domain])
        if out.returncode != 0:
            return False
        # Newer macOS prints `"label" => disabled`, older `"label" => true` (true meaning disabled).
        match = re.search(rf'"{re.escape(LABEL)}"\s*=>\s*(\w+)', out.stdout)
        return match is not None and match.group(1) in ("disabled", "true")

    def enable(self, command: list[str], *, headless: bool = False) -> AutostartState:
        argv = login_argv(command, headless=headless)
        if not argv[0].startswith("/"):
            raise AutostartError(f"launch at login needs the absolute path of the program, got {argv[0]!r}")
        try:
            self._read()
        except ValueError as exc:  # may hold the user's edits: never overwritten
            raise AutostartError(_unparseable(str(self.plist_path), str(exc))) from exc
        except OSError:
            pass  # unreadable: writing fails and says so
        write_atomically(self.plist_path, plistlib.dumps(agent(argv, headless=headless), fmt=plistlib.FMT_XML))
        self._launchctl(["enable", self.service])  # clears an earlier `launchctl disable` of this label
        return self.status()

    def disable(self) -> AutostartState:
        removed = remove(self.plist_path)
        loaded = self._launchctl(["print", self.service])
        if removed and loaded.returncode == 0 and not re.search(r"^\s*pid = \d+", loaded.stdout, re.MULTILINE):
            self._launchctl(["bootout", self.service])  # loaded but not running: forget it now
        return self.status()


def _unparseable(where: str, why: str) -> str:
    return f"{where} does not parse ({why}); fix it, or turn launch at login off to remove it."
