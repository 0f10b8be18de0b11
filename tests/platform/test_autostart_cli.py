"""`switchboard autostart on|off|status` as a user runs it, on Linux for real, in a throwaway HOME.

The CLI's environment has no XDG_RUNTIME_DIR and no D-Bus address, so `systemctl --user` never reaches a
user manager (a developer's real one must not be touched); its file-based commands (enable, disable,
is-enabled) run for real.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.platform.autostart import desktop_entry, systemd_unit
from app.platform.autostart.linux import run_program
from tests.daemon.processes import switchboard


class Login:
    def __init__(self, tmp_path: Path, switchboard_home: Path) -> None:
        self.root = tmp_path
        self.home = tmp_path / "user"
        self.xdg = tmp_path / "xdg config"
        self.home.mkdir()
        self.switchboard_home = switchboard_home

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return switchboard(
            "autostart", *args, home=self.switchboard_home,
            HOME=str(self.home), XDG_CONFIG_HOME=str(self.xdg), XDG_RUNTIME_DIR="", DBUS_SESSION_BUS_ADDRESS="",
        )

    def files(self) -> list[Path]:
        return sorted(p for p in [*self.xdg.rglob("*"), *self.home.rglob("*")] if not p.is_dir() or p.is_symlink())


@pytest.fixture
def login(tmp_path: Path, isolated_home: Path) -> Login:
    return Login(tmp_path, isolated_home)


def this_switchboard() -> list[str]:
    return [sys.executable, "-m", "app"]  # app.paths.self_command() from source: the venv's python, absolute


def test_on_status_off_for_the_tray(login: Login) -> None:
    before = login.cli("status")
    assert before.returncode == 0 and before.stdout.startswith("Switchboard does not start at login.")

    on = login.cli("on")
    assert on.returncode == 0, on.stderr
    entry_path = login.xdg / "autostart" / "switchboard.desktop"
    assert on.stdout.startswith("At login your desktop session starts the Switchboard tray")
    assert str(entry_path) in on.stdout
    entry = desktop_entry.parse(entry_path.read_text(), str(entry_path))
    assert desktop_entry.split_exec(entry["Exec"]) == this_switchboard()
    if shutil.which("desktop-file-validate"):
        checked = subprocess.run(["desktop-file-validate", str(entry_path)], capture_output=True, text=True)
        assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout

    status = login.cli("status")
    assert status.stdout == on.stdout  # read back from the file by a new process

    off = login.cli("off")
    assert off.returncode == 0 and off.stdout.startswith("Switchboard does not start at login.")
    assert login.files() == []


def test_on_headless_writes_a_systemd_unit_that_verifies_and_off_removes_it(login: Login) -> None:
    config = login.root / "my config.json"
    on = login.cli("on", "--headless", "--config", str(config))
    assert on.returncode == 0, on.stderr
    unit = login.xdg / "systemd" / "user" / "switchboard.service"
    sections = systemd_unit.parse(unit.read_text(), str(unit))
    argv = systemd_unit.split_command(sections["Service"]["ExecStart"])
    assert argv == [*this_switchboard(), "--config", str(config), "serve"]
    assert sections["Service"]["Restart"] == "on-failure"
    assert "the headless Switchboard gateway" in on.stdout
    assert not (login.xdg / "autostart" / "switchboard.desktop").exists()  # one kind at a time
    if shutil.which("systemd-analyze"):
        runtime = login.root / "runtime"
        runtime.mkdir(mode=0o700)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(login.home), "XDG_CONFIG_HOME": str(login.xdg),
               "XDG_RUNTIME_DIR": str(runtime)}
        verified = run_program(["systemd-analyze", "--user", "verify", str(unit)], env)
        assert verified.returncode == 0, verified.stderr

    assert login.cli("off").returncode == 0
    assert login.files() == []


def test_a_file_that_does_not_parse_is_not_overwritten_and_the_fix_is_said(login: Login) -> None:
    entry_path = login.xdg / "autostart" / "switchboard.desktop"
    entry_path.parent.mkdir(parents=True)
    entry_path.write_text("this is not a desktop entry\n")
    on = login.cli("on")
    assert on.returncode == 1
    assert on.stderr.startswith(f"switchboard: {entry_path} does not parse")
    assert "turn launch at login off to remove it" in on.stderr and "Traceback" not in on.stderr
    assert entry_path.read_text() == "this is not a desktop entry\n"
