"""Linux and other XDG desktops: the tray through XDG autostart, the headless gateway through a systemd user unit.

Only one of the two is present at a time (enabling one removes the other): both would start two
Switchboards at login, and the second would only find the first one running.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from app.platform.autostart import desktop_entry, systemd_unit
from app.platform.autostart.base import (
    Autostart,
    AutostartError,
    AutostartState,
    describe,
    login_argv,
    prune_empty_dirs,
    remove,
    write_atomically,
)

DESKTOP_NAME = "switchboard.desktop"
UNIT_NAME = "switchboard.service"
ENABLED_STATES = ("enabled", "enabled-runtime")  # what `systemctl is-enabled` prints for "starts at login"

# The seam for running programs (systemctl): argv and environment in, the finished process out.
Run = Callable[[list[str], Mapping[str, str]], "subprocess.CompletedProcess[str]"]


def run_program(argv: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, env=dict(env), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


class Systemctl:
    """`systemctl --user`, run with the environment (HOME, XDG_CONFIG_HOME) of the home being configured."""

    def __init__(self, env: Mapping[str, str], run: Run = run_program) -> None:
        self.env = dict(env)
        self.exe = shutil.which("systemctl", path=self.env.get("PATH", os.defpath))
        self._run = run

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str] | None:
        """None when there is no systemctl at all."""
        if self.exe is None:
            return None
        return self._run([self.exe, "--user", *args], self.env)

    def reachable(self) -> bool:
        """Is a systemd manager running for this user (a login session with systemd --user)?"""
        out = self("is-system-running")
        # "offline": no manager to talk to; anything else (running, degraded, starting...) answered.
        return out is not None and out.stdout.strip() not in ("", "offline", "unknown")


def default_icon() -> str:
    from app import paths  # only for the default: tests and installers may pass their own icon

    return str(paths.resource("app-256.png"))


class LinuxAutostart(Autostart):
    def __init__(self, home: Path, env: Mapping[str, str], *, icon: str | None = None, run: Run = run_program) -> None:
        xdg = env.get("XDG_CONFIG_HOME", "")
        config_home = Path(xdg) if os.path.isabs(xdg) else home / ".config"  # the spec ignores a relative value
        self.desktop_path = config_home / "autostart" / DESKTOP_NAME
        self.unit_dir = config_home / "systemd" / "user"
        self.unit_path = self.unit_dir / UNIT_NAME
        self.wants_link = self.unit_dir / "default.target.wants" / UNIT_NAME  # what `systemctl enable` makes
        self.systemctl = Systemctl({**env, "HOME": str(home), "XDG_CONFIG_HOME": str(config_home)}, run)
        self._icon = icon

    # -- reading ---------------------------------------------------------------------------------

    def status(self) -> AutostartState:
        found = [state for state in (self._desktop_state(), self._unit_state()) if state is not None]
        if not found:
            return AutostartState(False, str(self.desktop_path), "Switchboard does not start at login.")
        if len(found) == 1:
            return found[0]
        # Both kinds (written by hand, or by an older version): report both, so the user sees why.
        return AutostartState(
            any(state.enabled for state in found),
            "; ".join(state.where for state in found),
            " ".join(state.detail for state in found),
        )

    def _read_desktop_entry(self) -> tuple[dict[str, str], list[str]] | None:
        """The entry's keys and its Exec argv; None if there is no file. Raises OSError or DesktopEntryError."""
        try:
            text = self.desktop_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        entry = desktop_entry.parse(text, str(self.desktop_path))
        argv = desktop_entry.split_exec(entry.get("Exec", ""))
        if not argv:
            raise desktop_entry.DesktopEntryError("no Exec line")
        return entry, argv

    def _read_unit(self) -> list[str] | None:
        """The unit's ExecStart argv; None if there is no unit. Raises OSError or UnitFileError."""
        try:
            text = self.unit_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        exec_start = systemd_unit.parse(text, str(self.unit_path)).get("Service", {}).get("ExecStart", "")
        argv = systemd_unit.split_command(exec_start)
        if not argv:
            raise systemd_unit.UnitFileError("no ExecStart line")
        return argv

    def _desktop_state(self) -> AutostartState | None:
        where = str(self.desktop_path)
        try:
            found = self._read_desktop_entry()
        except (OSError, UnicodeDecodeError) as exc:
            return AutostartState(False, where, f"{where} cannot be read ({exc}).")
        except desktop_entry.DesktopEntryError as exc:
            return AutostartState(False, where, _unparseable(where, str(exc)))
        if found is None:
            return None
        entry, argv = found
        shown = describe(argv, shlex.join(argv))
        if desktop_entry.is_true(entry.get("Hidden")) or entry.get("X-GNOME-Autostart-enabled", "true") == "false":
            return AutostartState(False, where, f"Your desktop's startup settings have {shown} switched off.")
        if not Path(argv[0]).exists():
            return AutostartState(False, where, _gone(argv[0], "your desktop session skips it"))
        return AutostartState(True, where, f"At login your desktop session starts {shown}.")

    def _unit_state(self) -> AutostartState | None:
        where = str(self.unit_path)
        try:
            argv = self._read_unit()
        except (OSError, UnicodeDecodeError) as exc:
            return AutostartState(False, where, f"{where} cannot be read ({exc}).")
        except systemd_unit.UnitFileError as exc:
            return AutostartState(False, where, _unparseable(where, str(exc)))
        if argv is None:
            return None
        shown = describe(argv, shlex.join(argv))
        if not self._unit_enabled():
            why = "there is no systemctl on this system" if self.systemctl.exe is None else "systemd has it disabled"
            return AutostartState(False, where, f"The unit for {shown} is written but not enabled: {why}.")
        if not Path(argv[0]).exists():
            return AutostartState(False, where, _gone(argv[0], "systemd would fail to start it"))
        detail = f"At login systemd starts {shown}."
        if not self.systemctl.reachable():
            detail += " systemd is not running for this user now; the unit is enabled for the next login that runs it."
        return AutostartState(True, where, detail)

    def _unit_enabled(self) -> bool:
        out = self.systemctl("is-enabled", UNIT_NAME)  # reads the unit files itself; no running manager needed
        if out is not None and out.stdout.strip():
            return out.stdout.strip() in ENABLED_STATES
        return self.wants_link.exists()

    # -- writing ---------------------------------------------------------------------------------

    def enable(self, command: list[str], *, headless: bool = False) -> AutostartState:
        argv = login_argv(command, headless=headless)
        if not os.path.isabs(argv[0]):
            raise AutostartError(f"launch at login needs the absolute path of the program, got {argv[0]!r}")
        self._refuse_unparseable()
        try:
            if headless:
                text = systemd_unit.render(argv, description="Switchboard MCP gateway (headless)")
            else:
                icon = self._icon or default_icon()
                text = desktop_entry.render(argv, name="Switchboard", comment="Local MCP gateway", icon=icon)
        except ValueError as exc:
            raise AutostartError(str(exc)) from exc
        if headless:
            write_atomically(self.unit_path, text.encode())
            self._remove_desktop_entry()
            failure = self._enable_unit()
            state = self.status()
            if failure:
                return AutostartState(state.enabled, state.where, f"{state.detail} systemctl said: {failure}")
            return state
        write_atomically(self.desktop_path, text.encode())
        self._remove_unit()
        return self.status()

    def _enable_unit(self) -> str:
        """Ask systemd to start the unit at login; the failure systemctl reported, or ''."""
        if self.systemctl.exe is None:
            return ""  # status() says there is no systemctl
        if self.systemctl.reachable():
            self.systemctl("daemon-reload")  # so the running manager sees the new ExecStart
        # `enable` only links files, so it works even when no manager runs now (e.g. over ssh, in a container).
        out = self.systemctl("enable", UNIT_NAME)
        if out is not None and out.returncode != 0:
            return " ".join((out.stderr or out.stdout).split()) or f"exit status {out.returncode}"
        return ""

    def disable(self) -> AutostartState:
        self._remove_desktop_entry()
        self._remove_unit()
        return self.status()

    def _remove_desktop_entry(self) -> None:
        if remove(self.desktop_path):
            prune_empty_dirs(self.desktop_path.parent)

    def _remove_unit(self) -> None:
        if not (self.unit_path.exists() or self.wants_link.is_symlink()):
            return
        if self.systemctl.exe is not None:
            self.systemctl("disable", UNIT_NAME)  # removes every link `enable` made, wherever
        remove(self.wants_link)  # in case systemctl is gone or failed
        remove(self.unit_path)
        if self.systemctl.reachable():
            self.systemctl("daemon-reload")
        prune_empty_dirs(self.wants_link.parent, self.unit_dir, self.unit_dir.parent)

    def _refuse_unparseable(self) -> None:
        """A file that does not parse may hold the user's edits: it is never overwritten."""
        for path, read, error in (
            (self.desktop_path, self._read_desktop_entry, desktop_entry.DesktopEntryError),
            (self.unit_path, self._read_unit, systemd_unit.UnitFileError),
        ):
            try:
                read()
            except error as exc:
                raise AutostartError(_unparseable(str(path), str(exc))) from exc
            except (OSError, UnicodeDecodeError):
                pass  # unreadable: writing will fail and say so


def _unparseable(where: str, why: str) -> str:
    return f"{where} does not parse ({why}); fix it, or turn launch at login off to remove it."


def _gone(program: str, consequence: str) -> str:
    return f"{program} no longer exists, so {consequence}; turn launch at login on again to start this Switchboard."
