"""The built .deb, installed for real into a throwaway root (dpkg --instdir/--admindir with chrootless
maintainer scripts, so nothing is installed system-wide), run from there, and removed again.

Run by `make installer-test` (SWITCHBOARD_DEB names the package), not by `make test`: it needs the
frozen build. Where the installed /usr/bin/switchboard must reach /opt/switchboard, the command runs
in a private mount namespace whose /opt is a tmpfs holding a bind mount of the throwaway root's
/opt/switchboard: the host's /opt is never touched.
"""

from __future__ import annotations

import ast
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import psutil
import pytest
from mcp import Client

from app.ui.platform_probe import SONAME_PACKAGES
from installer.linux.build_deb import PYTHON_SONAME_PACKAGES, needed_sonames
from tests.installer.hidden_libraries import run_without

DEB = os.environ.get("SWITCHBOARD_DEB", "")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
pytestmark = [
    pytest.mark.skipif(not DEB, reason="run by `make installer-test` (SWITCHBOARD_DEB names the .deb)"),
    pytest.mark.skipif(not sys.platform.startswith("linux") or not shutil.which("dpkg"), reason="needs dpkg"),
    pytest.mark.timeout(300),
]
APP = "opt/switchboard/Switchboard"
# Child processes never touch the keyring of whoever runs the tests: the key goes to its 0600 file.
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def dpkg(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        "dpkg",
        f"--instdir={root}",
        f"--admindir={root}/var/lib/dpkg",
        "--force-script-chrootless",  # the scripts honour DPKG_ROOT
        "--log=/dev/null",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def install(root: Path) -> None:
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "var/lib/dpkg/updates").mkdir()
    (root / "var/lib/dpkg/status").touch()
    # --force-depends: the throwaway root's empty package database knows none of the host's libraries.
    done = dpkg(root, "--force-depends", "-i", DEB)
    assert done.returncode == 0, done.stderr


def files_outside_dpkg(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir() and "var/lib/dpkg" not in str(p))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("root")
    install(root)
    yield root
    dpkg(root, "--purge", "switchboard")


def in_installed_system(root: Path, argv: list[str]) -> list[str]:
    """`argv` run where /opt/switchboard is the throwaway root's (see the module docstring)."""
    script = (
        "mount -t tmpfs tmpfs /opt && mkdir /opt/switchboard && "
        'mount --bind "$1" /opt/switchboard && shift && exec "$@"'
    )
    unshare = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--mount"]
    command = [*unshare, "sh", "-c", script, "sh", str(root / "opt/switchboard"), *argv]
    probe = subprocess.run([*command[: -len(argv)], "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount in a private namespace here (run as root, or allow user namespaces): {probe.stderr}")
    return command


def depends(deb: str) -> list[set[str]]:
    field = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True, text=True, check=True).stdout
    return [{alt.strip().split(" ")[0] for alt in item.split("|")} for item in field.split(",")]


def read_line(proc: subprocess.Popen[str], pattern: str, timeout: float = 60) -> re.Match[str]:
    """Reads the child's stdout until a line matches (the child announces readiness there)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen = []
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match
    raise AssertionError(f"no line matching {pattern!r}; the child printed:\n{''.join(seen)}")


def read_log_line(log: Path, pattern: str, proc: subprocess.Popen[Any], timeout: float = 60) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        match = re.search(pattern, log.read_text()) if log.exists() else None
        if match:
            return match
        time.sleep(0.1)
    raise AssertionError(f"{log} never matched {pattern!r} (exit code {proc.poll()})")


def show_key(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([*command, "show-key"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def echo_through(url: str, key: str, text: str, timeout: float = 60) -> tuple[list[str], str]:
    """Calls the demo child's echo through the gateway, once the demo's first start is over (a frozen
    child's cold start on a busy machine can outlast the gateway's bounded wait for it)."""
    async with Client(f"{url}?api_key={key}", mode="legacy") as client:
        with anyio.fail_after(timeout):
            while True:
                names = [tool.name for tool in (await client.list_tools()).tools]
                if "demo__echo" in names:
                    break
                await anyio.sleep(0.2)
        result = await client.call_tool("demo__echo", {"text": text})
    return names, result.content[0].text  # type: ignore[union-attr]


def stop(proc: subprocess.Popen[Any]) -> int:
    """SIGTERM (the app quits gracefully on it, as on Ctrl-C) and the exit code, after checking that
    the children it supervised are gone with it."""
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    _, alive = psutil.wait_procs(children, timeout=30)
    assert alive == [], f"left running: {alive}"
    return code


def env_for(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, **NO_KEYRING, "SWITCHBOARD_HOME": str(home), **extra}


# --- the package --------------------------------------------------------------------------------------


def test_depends_name_every_system_library_of_the_xcb_plugin(installed: Path) -> None:
    qt = installed / "opt/switchboard/_internal/PySide6/Qt"
    carried = {p.name for p in (installed / "opt/switchboard").rglob("*")}
    needed = {
        name
        for binary in (qt / "plugins/platforms/libqxcb.so", qt / "lib/libQt6XcbQpa.so.6")
        for name in needed_sonames(binary)
        if name not in carried and not name.startswith(("libc.so", "libm.so"))
    }
    assert "libxcb-cursor.so.0" in needed
    alternatives = depends(DEB)
    for soname in needed:
        assert any(SONAME_PACKAGES[soname] in alts for alts in alternatives), soname


def test_depends_resolve_on_this_system() -> None:
    """apt, simulating, finds every dependency by name in this system's archive (no typo'd package)."""
    if shutil.which("apt-get") is None:
        pytest.skip("needs apt-get")
    done = subprocess.run(
        ["apt-get", "install", "--simulate", "--no-install-recommends", str(Path(DEB).resolve())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^Inst switchboard ", done.stdout, re.MULTILINE), done.stdout


def test_bundle_carries_no_system_library_and_stays_small(installed: Path) -> None:
    system = set(SONAME_PACKAGES) | set(PYTHON_SONAME_PACKAGES)
    bundle = installed / "opt/switchboard"
    assert sorted(p.name for p in bundle.rglob("*") if p.name in system) == []
    size = sum(p.lstat().st_size for p in bundle.rglob("*"))
    assert size <= 150 * 1024 * 1024, f"{size / 2**20:.0f} MiB"


def test_layout_command_desktop_entry_and_icons(installed: Path) -> None:
    link = installed / "usr/bin/switchboard"
    assert link.is_symlink() and os.readlink(link) == f"/{APP}"
    assert os.access(installed / APP, os.X_OK)
    desktop = (installed / "usr/share/applications/switchboard.desktop").read_text()
    assert "\nExec=switchboard\n" in desktop and "\nIcon=switchboard\n" in desktop
    if shutil.which("desktop-file-validate"):
        done = subprocess.run(["desktop-file-validate", str(installed / "usr/share/applications/switchboard.desktop")])
        assert done.returncode == 0
    for size in (16, 22, 24, 32, 48, 64, 128, 256):
        png = installed / f"usr/share/icons/hicolor/{size}x{size}/apps/switchboard.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    assert (installed / "usr/share/icons/hicolor/scalable/apps/switchboard.svg").exists()


# --- the installed app ---------------------------------------------------------------------------------


def test_installed_switchboard_serves_a_real_mcp_call(installed: Path, isolated_home: Path) -> None:
    """From /usr/bin/switchboard: the self-test where the CLI has it; else `serve --port 0` and a real
    MCP call through it to the demo child, which the first-run config starts as the installed exe."""
    command = in_installed_system(installed, [str(installed / "usr/bin/switchboard")])
    env = env_for(isolated_home)
    usage = subprocess.run([*command, "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 0, usage.stderr
    if "--self-test" in usage.stdout:
        done = subprocess.run([*command, "--self-test"], env=env, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stdout + done.stderr
        return
    proc = subprocess.Popen([*command, "serve", "--port", "0"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        url = read_line(proc, r"is serving at (\S+)").group(1)
        _, echoed = anyio.run(echo_through, url, show_key(command, env), "through the installed app")
        assert echoed == "through the installed app"
    finally:
        code = stop(proc)
    assert code == 0
    config = json.loads((isolated_home / "config/config.json").read_text())
    assert config["mcpServers"]["demo"]["command"] == f"/{APP}"
    assert config["mcpServers"]["demo"]["args"] == ["demo-server"]


def test_installed_app_probes_qt_with_the_system_libraries(installed: Path, xvfb: str) -> None:
    """The bundle carries no xcb libraries: the system's must serve the bundled plugin."""
    for platform, display in (("xcb", xvfb), ("offscreen", "")):
        env = {**os.environ, "QT_QPA_PLATFORM": platform, "DISPLAY": display}
        done = subprocess.run([str(installed / APP), "--probe-qt"], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"ok ({platform})" in done.stdout


def test_installed_app_names_the_packages_a_fresh_debian_lacks(installed: Path, xvfb: str, tmp_path: Path) -> None:
    """The frozen probe end to end: app.ui.platform_probe as the frozen app runs it (its child is the
    installed exe with --probe-qt), on a system where libxcb-cursor0 and libxcb-icccm4 are missing."""
    probe = (
        "import sys; sys.frozen = True; sys.executable = sys.argv[1]; "
        "from app.ui.platform_probe import probe_qt_platform; print(repr(probe_qt_platform()))"
    )
    env = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb}
    argv = ["env", *(f"{k}={v}" for k, v in env.items()), sys.executable, "-c", probe, str(installed / APP)]
    lines = run_without(["libxcb-cursor.so.0", "libxcb-icccm.so.4"], tmp_path, argv)
    assert len(lines) == 1, lines
    sentence = ast.literal_eval(lines[0])  # the repr the child printed
    assert sentence.startswith('Qt\'s "xcb" platform plugin cannot load because '), sentence
    assert "libxcb-cursor.so.0" in sentence and "libxcb-icccm.so.4" in sentence
    fix = re.search(r"sudo apt install ([\w .-]+)\)\.$", sentence)
    assert fix and sorted(fix.group(1).split()) == ["libxcb-cursor0", "libxcb-icccm4"], sentence


def screen(display: str) -> bytes:
    return subprocess.run(
        ["import", "-display", display, "-window", "root", "-depth", "8", "rgb:-"], capture_output=True, check=True
    ).stdout


def wait_until_settled(display: str, deadline: float, quiet: float = 3.0) -> None:
    """For the screenshot only (nothing is asserted on it): the panel redraws on its own timers (the
    event feed every 250-750 ms, the client list every 5 s), and a child that served a call can still
    read "starting..." for about a second; the screen counts as settled once unchanged for `quiet` s."""
    last, since = screen(display), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.2)
        now = screen(display)
        if now != last:
            last, since = now, time.monotonic()


def test_control_panel_under_xvfb_with_the_real_xcb_platform(installed: Path, isolated_home: Path, xvfb: str) -> None:
    """Starts the installed app on a bare X server (no tray there, so the panel opens), makes a call
    through it, and saves a screenshot of the screen once it has settled (tests/artifacts/)."""
    for tool in ("xwininfo", "import"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} (Debian packages x11-utils, imagemagick)")
    config = isolated_home / "config/config.json"
    config.parent.mkdir(parents=True)
    demo = {"command": f"/{APP}", "args": ["demo-server"], "enabled": True}
    config.write_text(json.dumps({"gateway": {"host": "127.0.0.1", "port": 0}, "mcpServers": {"demo": demo}}))
    env = env_for(isolated_home, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb")
    command = in_installed_system(installed, [str(installed / "usr/bin/switchboard")])
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = read_log_line(isolated_home / "logs/switchboard.log", r"Serving at (\S+)", proc).group(1)
        _, echoed = anyio.run(echo_through, url, show_key(command, env), "hello from the panel test")
        assert echoed == "hello from the panel test"
        deadline = time.monotonic() + 60
        windows = ""
        while time.monotonic() < deadline and '"Switchboard": ("' not in windows:
            time.sleep(0.1)
            windows = subprocess.run(
                ["xwininfo", "-display", xvfb, "-root", "-tree"], capture_output=True, text=True
            ).stdout
        assert '"Switchboard": ("' in windows, windows
        wait_until_settled(xvfb, deadline)
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "installed-panel.png"
        subprocess.run(["import", "-display", xvfb, "-window", "root", str(shot)], check=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        code = stop(proc)
    assert code == 0, proc.stderr.read() if proc.stderr else ""


# --- removal -------------------------------------------------------------------------------------------


def test_remove_stops_a_running_instance_and_purge_leaves_the_home(tmp_path: Path, isolated_home: Path) -> None:
    root = tmp_path / "root"
    install(root)
    app = [str(root / APP)]
    env = env_for(isolated_home)
    proc = subprocess.Popen([*app, "serve", "--port", "0"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        url = read_line(proc, r"is serving at (\S+)").group(1)
        anyio.run(echo_through, url, show_key(app, env), "still here")  # the demo child is running
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children
        done = dpkg(root, "--purge", "switchboard")
        assert done.returncode == 0, done.stderr
        assert proc.wait(timeout=60) == 0  # prerm stopped it gracefully (SIGTERM), not killed it
        _, alive = psutil.wait_procs(children, timeout=30)
        assert alive == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert files_outside_dpkg(root) == []
    assert not (root / "opt/switchboard").exists()
    home_files = {str(p.relative_to(isolated_home)) for p in isolated_home.rglob("*") if p.is_file()}
    assert {"config/config.json", "config/api-key"} <= home_files
