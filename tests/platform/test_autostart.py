"""Launch at login on Linux, for real, in a throwaway HOME and XDG_CONFIG_HOME.

The environment handed to the module has no XDG_RUNTIME_DIR and no D-Bus address, so `systemctl --user`
can never reach a user manager (there is none in this container, and a developer's real one must not
be touched); file-based systemctl commands (enable, disable, is-enabled) still run for real.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from app.platform.autostart import AutostartError, desktop_entry, for_this_os, systemd_unit
from app.platform.autostart.linux import LinuxAutostart, run_program
from app.platform.autostart.macos import MacAutostart
from app.platform.autostart.windows import WindowsAutostart

# Records the argv it was started with (sys.orig_argv: the program path as invoked, then every argument).
RECORDER = "import json, sys\nopen(sys.argv[1], 'w').write(json.dumps(sys.orig_argv))\n"
TRICKY_ARGS = ["--level=100%", "$HOME", "back\\slash", 'say "hi"', "`tick`", "semi;colon", "it's", "", "tab\there"]


class Home:
    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        self.home = tmp_path / "home"
        self.config = tmp_path / "xdg config"  # a space in XDG_CONFIG_HOME too
        self.home.mkdir()
        self.env = {"PATH": os.environ["PATH"], "HOME": str(self.home), "XDG_CONFIG_HOME": str(self.config)}

    def autostart(self) -> LinuxAutostart:
        made = for_this_os(self.home, self.env, "Linux")
        assert isinstance(made, LinuxAutostart)
        return made

    def program(self, folder: str) -> Path:
        """This test's Python under a path of our choosing (a symlink), so the login command really runs."""
        path = self.root / folder / "switchboard"
        path.parent.mkdir(parents=True)
        path.symlink_to(sys.executable)
        return path

    def leftovers(self) -> list[Path]:
        return sorted(p for p in [*self.config.rglob("*"), *self.home.rglob("*")] if not p.is_dir() or p.is_symlink())


@pytest.fixture
def xdg(tmp_path: Path) -> Home:
    return Home(tmp_path)


def command(xdg: Home, folder: str) -> tuple[list[str], Path]:
    program = xdg.program(folder)
    script = xdg.root / "record argv.py"
    script.write_text(RECORDER)
    out = xdg.root / "argv seen.json"
    return [str(program), str(script), str(out), *TRICKY_ARGS], out


def wait_for_file(path: Path, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        if path.exists() and (text := path.read_text()):
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear")
        time.sleep(0.02)


# -- the tray: an XDG autostart entry --------------------------------------------------------------


def test_tray_entry_holds_the_exact_argv_and_off_leaves_nothing(xdg: Home) -> None:
    argv, _ = command(xdg, 'Apps dir/it\'s "here"')  # spaces and both kinds of quote in the program path
    state = xdg.autostart().enable(argv)
    path = xdg.config / "autostart" / "switchboard.desktop"
    assert state.enabled, state.detail
    assert state.where == str(path)
    assert "tray" in state.detail

    entry = desktop_entry.parse(path.read_text(), str(path))
    assert desktop_entry.split_exec(entry["Exec"]) == argv
    assert (entry["Type"], entry["Name"], entry["Terminal"], entry["X-GNOME-Autostart-enabled"]) == (
        "Application",
        "Switchboard",
        "false",
        "true",
    )
    assert Path(entry["Icon"]).is_file()

    again = xdg.autostart().status()  # a fresh object: status comes from the file, not from memory
    assert (again.enabled, again.where) == (True, str(path))

    off = xdg.autostart().disable()
    assert not off.enabled
    assert xdg.leftovers() == []


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-validate is not installed")
def test_tray_entry_passes_desktop_file_validate(xdg: Home) -> None:
    argv, _ = command(xdg, 'Apps dir/it\'s "here"')
    state = xdg.autostart().enable(argv)
    out = subprocess.run(["desktop-file-validate", state.where], capture_output=True, text=True)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr


@pytest.mark.skipif(not shutil.which("gio"), reason="gio (GLib's launcher, as GNOME's session uses) is not installed")
def test_tray_entry_launched_by_glib_runs_exactly_that_argv(xdg: Home) -> None:
    """GLib parses Exec and starts the program, as a GNOME session does at login."""
    argv, seen = command(xdg, 'Apps dir/it\'s "here"')
    state = xdg.autostart().enable(argv)
    launched = subprocess.run(["gio", "launch", state.where], env=xdg.env, capture_output=True, text=True)
    assert launched.returncode == 0, launched.stderr
    assert json.loads(wait_for_file(seen)) == argv


def test_status_follows_the_file_as_the_user_changes_it(xdg: Home) -> None:
    argv, _ = command(xdg, "apps")
    auto = xdg.autostart()
    path = Path(auto.enable(argv).where)

    path.write_text(path.read_text().replace("X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false"))
    state = auto.status()
    assert not state.enabled and "switched off" in state.detail

    auto.enable(argv)  # on again rewrites it
    assert auto.status().enabled

    Path(argv[0]).unlink()  # Switchboard moved or uninstalled: TryExec makes the session skip it
    state = auto.status()
    assert not state.enabled and "no longer exists" in state.detail

    path.unlink()
    assert not auto.status().enabled


def test_an_entry_that_does_not_parse_is_never_overwritten_and_off_removes_it(xdg: Home) -> None:
    argv, _ = command(xdg, "apps")
    path = xdg.config / "autostart" / "switchboard.desktop"
    path.parent.mkdir(parents=True)
    path.write_text("Exec=/usr/bin/true\n[Desktop Entry\n")
    auto = xdg.autostart()
    state = auto.status()
    assert not state.enabled and "does not parse" in state.detail and str(path) in state.detail

    with pytest.raises(AutostartError, match="does not parse") as failed:
        auto.enable(argv)
    assert str(path) in str(failed.value) and "turn launch at login off" in str(failed.value)
    assert path.read_text() == "Exec=/usr/bin/true\n[Desktop Entry\n"

    auto.disable()
    assert xdg.leftovers() == []


def test_a_relative_program_or_a_line_break_is_refused_and_nothing_is_written(xdg: Home) -> None:
    auto = xdg.autostart()
    with pytest.raises(AutostartError, match="absolute path"):
        auto.enable(["switchboard"])
    with pytest.raises(AutostartError, match="line break"):
        auto.enable([sys.executable, "two\nlines"])
    assert xdg.leftovers() == []


# -- headless: a systemd user unit ------------------------------------------------------------------


def test_headless_unit_holds_the_exact_argv_and_is_enabled(xdg: Home) -> None:
    argv, _ = command(xdg, "Apps dir/with spaces")  # systemd itself refuses quotes in a program path
    state = xdg.autostart().enable(argv, headless=True)
    unit = xdg.config / "systemd" / "user" / "switchboard.service"
    assert state.where == str(unit)

    sections = systemd_unit.parse(unit.read_text(), str(unit))
    assert systemd_unit.split_command(sections["Service"]["ExecStart"]) == [*argv, "serve"]
    assert sections["Service"]["Restart"] == "on-failure"
    assert sections["Install"]["WantedBy"] == "default.target"
    assert not (xdg.config / "autostart" / "switchboard.desktop").exists()

    if shutil.which("systemctl"):
        assert state.enabled, state.detail
        assert "headless" in state.detail and "not running for this user" in state.detail
        assert (unit.parent / "default.target.wants" / "switchboard.service").is_symlink()
        asked = run_program(["systemctl", "--user", "is-enabled", "switchboard.service"], xdg.env)
        assert asked.stdout.strip() == "enabled"
    else:
        assert not state.enabled and "no systemctl" in state.detail

    off = xdg.autostart().disable()
    assert not off.enabled
    assert xdg.leftovers() == []


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_headless_unit_passes_systemd_analyze_verify(xdg: Home) -> None:
    """systemd-analyze checks the program path it parsed from ExecStart exists: a wrong split fails it."""
    argv, _ = command(xdg, "Apps dir/with spaces")
    unit = Path(xdg.autostart().enable(argv, headless=True).where)
    runtime = xdg.root / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**xdg.env, "XDG_RUNTIME_DIR": str(runtime)}  # verify sets up a (test) manager that wants one

    def verify(path: Path) -> subprocess.CompletedProcess[str]:
        return run_program(["systemd-analyze", "--user", "verify", str(path)], env)

    checked = verify(unit)
    assert checked.returncode == 0, checked.stderr
    # The same unit with the path left unquoted must fail, or this check proves nothing.
    broken = xdg.root / "broken" / "switchboard.service"
    broken.parent.mkdir()
    broken.write_text(unit.read_text().replace(systemd_unit.quote_word(argv[0]), argv[0]))
    assert verify(broken).returncode != 0


def test_a_program_path_systemd_cannot_run_is_refused_with_the_fix(xdg: Home) -> None:
    argv, _ = command(xdg, "it's here")
    with pytest.raises(AutostartError, match="quote") as failed:
        xdg.autostart().enable(argv, headless=True)
    assert argv[0] in str(failed.value) and "folder without them" in str(failed.value)
    assert xdg.leftovers() == []


def test_switching_between_tray_and_headless_keeps_only_one(xdg: Home) -> None:
    argv, _ = command(xdg, "apps")
    auto = xdg.autostart()
    desktop, unit = auto.desktop_path, auto.unit_path
    auto.enable(argv)
    auto.enable(argv, headless=True)
    assert unit.exists() and not desktop.exists()
    state = auto.enable(argv)
    assert desktop.exists() and not unit.exists() and not auto.wants_link.is_symlink()
    assert state.enabled and state.where == str(desktop)


def test_with_a_reachable_user_manager_the_unit_is_reloaded_and_enabled(xdg: Home) -> None:
    """A user systemd manager cannot run in this container: the run seam answers `is-system-running`
    and `daemon-reload` as a live one would; every other systemctl command runs for real."""
    calls: list[list[str]] = []

    def live_manager(argv: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        calls.append(argv[2:])
        if argv[2:] == ["is-system-running"]:
            return subprocess.CompletedProcess(argv, 0, "running\n", "")
        if argv[2:] == ["daemon-reload"]:
            return subprocess.CompletedProcess(argv, 0, "", "")
        return run_program(argv, env)

    if not shutil.which("systemctl", path=xdg.env["PATH"]):
        pytest.skip("systemctl is not installed")
    auto = LinuxAutostart(xdg.home, xdg.env, run=live_manager)
    argv, _ = command(xdg, "apps")
    state = auto.enable(argv, headless=True)
    assert state.enabled and "not running" not in state.detail
    assert calls.index(["daemon-reload"]) < calls.index(["enable", "switchboard.service"])

    calls.clear()
    auto.disable()
    assert ["disable", "switchboard.service"] in calls and calls[-1] == ["daemon-reload"]
    assert xdg.leftovers() == []


# -- the selector ------------------------------------------------------------------------------------


def test_for_this_os_picks_the_module_and_honours_xdg_config_home(tmp_path: Path) -> None:
    home = tmp_path / "h"
    linux = for_this_os(home, {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}, "Linux")
    assert isinstance(linux, LinuxAutostart) and linux.desktop_path == tmp_path / "cfg/autostart/switchboard.desktop"
    relative = for_this_os(home, {"XDG_CONFIG_HOME": "cfg"}, "FreeBSD")  # the spec ignores a relative value
    assert (
        isinstance(relative, LinuxAutostart) and relative.desktop_path == home / ".config/autostart/switchboard.desktop"
    )
    mac = for_this_os(home, {}, "Darwin")
    assert isinstance(mac, MacAutostart)
    assert mac.plist_path == home / "Library/LaunchAgents/dev.switchboard.app.plist"
    assert isinstance(for_this_os(home, {}, "Windows"), WindowsAutostart)
