"""Windows: the per-user Run key, which Explorer reads at every login.

Task Manager's "Startup apps" switch does not touch the Run value: it writes a StartupApproved entry
whose first byte is odd when the user turned the app off. status() reads it; enable() clears it (the
user has just asked for on); disable() removes both. The registry sits behind a seam (winreg here, a
dict in tests on Linux).
"""

from __future__ import annotations

import importlib
import subprocess
from pathlib import PureWindowsPath
from typing import Any, Protocol

from app.platform.autostart.base import Autostart, AutostartError, AutostartState, describe, login_argv

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
VALUE_NAME = "Switchboard"
HIVE = "HKEY_CURRENT_USER"


class UserRegistry(Protocol):
    """Values under HKEY_CURRENT_USER: str for REG_SZ, bytes for REG_BINARY, None when absent."""

    def read(self, key: str, name: str) -> str | bytes | None: ...

    def write(self, key: str, name: str, value: str) -> None: ...

    def delete(self, key: str, name: str) -> None:
        """No error when the value (or its key) does not exist."""


def _winreg() -> Any:
    # Imported when used, so this module loads (and its logic is tested) on every OS; typed Any because
    # mypy, checking on Linux, sees winreg as empty.
    return importlib.import_module("winreg")


class Winreg:
    """The real HKEY_CURRENT_USER."""

    def read(self, key: str, name: str) -> str | bytes | None:
        winreg = _winreg()
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
                value, _kind = winreg.QueryValueEx(handle, name)
        except FileNotFoundError:
            return None
        return value if isinstance(value, str | bytes) else None

    def write(self, key: str, name: str, value: str) -> None:
        winreg = _winreg()
        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
            winreg.SetValueEx(handle, name, 0, winreg.REG_SZ, value)

    def delete(self, key: str, name: str) -> None:
        winreg = _winreg()
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
                winreg.DeleteValue(handle, name)
        except FileNotFoundError:
            pass


def command_line(argv: list[str]) -> str:
    """The MS C runtime's quoting, which is how the program's argv is parsed back at login."""
    return subprocess.list2cmdline(argv)


class WindowsAutostart(Autostart):
    def __init__(self, registry: UserRegistry | None = None) -> None:
        self.registry: UserRegistry = registry if registry is not None else Winreg()
        self.where = rf"{HIVE}\{RUN_KEY}\{VALUE_NAME}"

    def status(self) -> AutostartState:
        try:
            value = self.registry.read(RUN_KEY, VALUE_NAME)
            approved = self.registry.read(APPROVED_KEY, VALUE_NAME)
        except OSError as exc:
            return AutostartState(False, self.where, f"The registry cannot be read ({exc}).")
        if value is None:
            return AutostartState(False, self.where, "Switchboard does not start at login.")
        if not isinstance(value, str) or not value.strip():
            return AutostartState(False, self.where, f"{self.where} holds no command; turn launch at login on again.")
        shown = describe(value.split()[-1:], value)  # the last word says "serve" for the headless gateway
        if isinstance(approved, bytes) and approved and approved[0] % 2 == 1:
            return AutostartState(
                False, self.where, f"Task Manager's Startup apps has {shown} turned off; turn it on there or here."
            )
        return AutostartState(True, self.where, f"At login Windows starts {shown}.")

    def enable(self, command: list[str], *, headless: bool = False) -> AutostartState:
        argv = login_argv(command, headless=headless)
        if not PureWindowsPath(argv[0]).is_absolute():
            raise AutostartError(f"launch at login needs the absolute path of the program, got {argv[0]!r}")
        try:
            self.registry.write(RUN_KEY, VALUE_NAME, command_line(argv))
            self.registry.delete(APPROVED_KEY, VALUE_NAME)
        except OSError as exc:
            raise AutostartError(f"cannot write {self.where}: {exc}") from exc
        return self.status()

    def disable(self) -> AutostartState:
        try:
            self.registry.delete(RUN_KEY, VALUE_NAME)
            self.registry.delete(APPROVED_KEY, VALUE_NAME)
        except OSError as exc:
            raise AutostartError(f"cannot remove {self.where}: {exc}") from exc
        return self.status()
