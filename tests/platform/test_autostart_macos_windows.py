"""Launch at login on macOS and Windows, checked on Linux.

The files are real (a LaunchAgent plist in a throwaway HOME, parsed back with plistlib). What cannot
exist here is faked, and only that: `launchctl` (a recorder with scripted answers, through the module's
launchctl seam) and the Windows registry (a dict, through the module's registry seam).
"""

from __future__ import annotations

import plistlib
import subprocess
import sys
from pathlib import Path

import pytest

from app.platform.autostart import AutostartError
from app.platform.autostart.macos import LABEL, MacAutostart
from app.platform.autostart.windows import APPROVED_KEY, RUN_KEY, VALUE_NAME, WindowsAutostart

ARGS = ["-m", "app", "--config", '/Users/Ann Lee/it\'s "mine".json', "100%", "$HOME"]

# -- macOS -----------------------------------------------------------------------------------------------


class FakeLaunchctl:
    """Stands in for /bin/launchctl, which does not exist on Linux: records calls, answers as scripted."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.answers: dict[str, tuple[int, str]] = {"print": (113, "Could not find service")}

    def __call__(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(args)
        code, out = self.answers.get(args[0], (0, ""))
        return subprocess.CompletedProcess(["launchctl", *args], code, out, "")


@pytest.fixture
def launchctl() -> FakeLaunchctl:
    return FakeLaunchctl()


@pytest.fixture
def mac(tmp_path: Path, launchctl: FakeLaunchctl) -> MacAutostart:
    return MacAutostart(tmp_path / "Ann's home", launchctl=launchctl, uid=501)


def test_tray_agent_runs_the_exact_argv_once_at_login(mac: MacAutostart, launchctl: FakeLaunchctl) -> None:
    argv = [sys.executable, *ARGS]
    state = mac.enable(argv)
    assert state.enabled and state.where == str(mac.plist_path) and "tray" in state.detail
    assert mac.plist_path.name == "dev.switchboard.app.plist" and mac.plist_path.parent.name == "LaunchAgents"

    agent = plistlib.loads(mac.plist_path.read_bytes())
    assert agent["Label"] == LABEL
    assert agent["ProgramArguments"] == argv
    assert agent["RunAtLoad"] is True
    assert agent["KeepAlive"] is False
    assert ["enable", f"gui/501/{LABEL}"] in launchctl.calls  # clears an earlier `launchctl disable`
    assert not any(call[0] == "bootstrap" for call in launchctl.calls)  # would start a second copy now


def test_headless_agent_runs_serve_and_comes_back_only_after_a_crash(mac: MacAutostart) -> None:
    state = mac.enable([sys.executable, *ARGS], headless=True)
    assert state.enabled and "headless" in state.detail
    agent = plistlib.loads(mac.plist_path.read_bytes())
    assert agent["ProgramArguments"] == [sys.executable, *ARGS, "serve"]
    assert agent["KeepAlive"] == {"SuccessfulExit": False}


def test_status_reads_launchds_disabled_list(mac: MacAutostart, launchctl: FakeLaunchctl) -> None:
    mac.enable([sys.executable])
    for printed in (f'\t"{LABEL}" => disabled', f'\t"{LABEL}" => true'):  # newer and older macOS
        launchctl.answers["print-disabled"] = (0, f'disabled services = {{\n\t"com.apple.x" => enabled\n{printed}\n}}')
        state = mac.status()
        assert not state.enabled and "disabled" in state.detail
    launchctl.answers["print-disabled"] = (0, f'disabled services = {{\n\t"{LABEL}" => enabled\n}}')
    assert mac.status().enabled


def test_off_removes_the_agent_and_never_stops_a_running_switchboard(
    mac: MacAutostart, launchctl: FakeLaunchctl
) -> None:
    mac.enable([sys.executable])
    launchctl.answers["print"] = (0, f"gui/501/{LABEL} = {{\n\tstate = running\n\tpid = 4242\n}}")
    state = mac.disable()
    assert not state.enabled and not mac.plist_path.exists()
    assert not any(call[0] == "bootout" for call in launchctl.calls)

    mac.enable([sys.executable])
    launchctl.answers["print"] = (0, f"gui/501/{LABEL} = {{\n\tstate = not running\n}}")
    mac.disable()
    assert ["bootout", f"gui/501/{LABEL}"] in launchctl.calls  # loaded but idle: launchd forgets it now
    assert list(mac.plist_path.parent.iterdir()) == []


def test_an_agent_that_does_not_parse_is_never_overwritten(mac: MacAutostart) -> None:
    mac.plist_path.parent.mkdir(parents=True)
    mac.plist_path.write_text("<plist><dict><key>Label</key>")
    assert "does not parse" in mac.status().detail
    with pytest.raises(AutostartError, match="does not parse"):
        mac.enable([sys.executable])
    assert mac.plist_path.read_text() == "<plist><dict><key>Label</key>"
    mac.disable()
    assert not mac.plist_path.exists()


def test_mac_refuses_a_relative_program(mac: MacAutostart) -> None:
    with pytest.raises(AutostartError, match="absolute path"):
        mac.enable(["Switchboard"])
    assert not mac.plist_path.exists()


# -- Windows ----------------------------------------------------------------------------------------------


class FakeRegistry:
    """Stands in for HKEY_CURRENT_USER, which does not exist on Linux: (key, value name) -> data."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str | bytes] = {}

    def read(self, key: str, name: str) -> str | bytes | None:
        return self.values.get((key, name))

    def write(self, key: str, name: str, value: str) -> None:
        self.values[(key, name)] = value

    def delete(self, key: str, name: str) -> None:
        self.values.pop((key, name), None)


def split_windows_command_line(line: str) -> list[str]:
    """How the MS C runtime splits a command line into argv (the rules list2cmdline quotes for):
    2n backslashes before a quote -> n and the quote toggles; 2n+1 -> n and a literal quote."""
    args: list[str] = []
    current, in_arg, quoted, i = "", False, False, 0
    while i < len(line):
        ch = line[i]
        if ch == "\\":
            run = len(line[i:]) - len(line[i:].lstrip("\\"))
            if i + run < len(line) and line[i + run] == '"':
                current += "\\" * (run // 2) + ('"' if run % 2 else "")
                quoted = quoted if run % 2 else not quoted
                i += run + 1
            else:
                current += "\\" * run
                i += run
            in_arg = True
            continue
        if ch == '"':
            quoted, in_arg = not quoted, True
        elif ch in " \t" and not quoted:
            if in_arg:
                args.append(current)
            current, in_arg = "", False
        else:
            current, in_arg = current + ch, True
        i += 1
    if in_arg:
        args.append(current)
    return args


WIN_ARGV = [r"C:\Program Files\Switchboard\Switchboard.exe", "--config", r'C:\Users\Ann Lee\it\'s "mine".json', "a\\"]


def test_run_value_holds_the_quoted_command_line_of_the_exact_argv() -> None:
    registry = FakeRegistry()
    state = WindowsAutostart(registry).enable(WIN_ARGV)
    assert state.enabled and "tray" in state.detail
    assert state.where == rf"HKEY_CURRENT_USER\{RUN_KEY}\Switchboard"
    line = registry.values[(RUN_KEY, VALUE_NAME)]
    assert isinstance(line, str) and line.startswith('"C:\\Program Files\\Switchboard\\Switchboard.exe" ')
    assert split_windows_command_line(line) == WIN_ARGV

    headless = WindowsAutostart(registry).enable(WIN_ARGV, headless=True)
    assert headless.enabled and "headless" in headless.detail
    assert split_windows_command_line(str(registry.values[(RUN_KEY, VALUE_NAME)])) == [*WIN_ARGV, "serve"]


def test_task_managers_switch_is_read_and_on_clears_it_and_off_removes_all() -> None:
    registry = FakeRegistry()
    auto = WindowsAutostart(registry)
    auto.enable(WIN_ARGV)
    registry.values[(APPROVED_KEY, VALUE_NAME)] = bytes([3]) + bytes(11)  # what Task Manager writes for "off"
    state = auto.status()
    assert not state.enabled and "Task Manager" in state.detail
    registry.values[(APPROVED_KEY, VALUE_NAME)] = bytes([2]) + bytes(11)  # and for "on"
    assert auto.status().enabled

    registry.values[(APPROVED_KEY, VALUE_NAME)] = bytes([3]) + bytes(11)
    assert auto.enable(WIN_ARGV).enabled  # the user just asked for on
    assert (APPROVED_KEY, VALUE_NAME) not in registry.values

    registry.values[(APPROVED_KEY, VALUE_NAME)] = bytes([2]) + bytes(11)
    off = auto.disable()
    assert not off.enabled and registry.values == {}


def test_windows_refuses_a_relative_program() -> None:
    registry = FakeRegistry()
    with pytest.raises(AutostartError, match="absolute path"):
        WindowsAutostart(registry).enable(["Switchboard.exe"])
    assert registry.values == {}
