"""Running the real `switchboard` CLI as a user would, in the test's own SWITCHBOARD_HOME, and making sure
every process it starts (detached daemons included: they are not our children) is gone afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

from app.daemon.instance import RUNTIME_NAME
from tests.conftest import ROOT, demo_child, write_config

CLI_TIMEOUT = 120  # generous: the machine is shared


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "SWITCHBOARD_HOME": str(home),
        "SWITCHBOARD_PORT": "0",  # never 8765, whatever a config says
        # keyring's fail backend: the key goes to a 0600 file in the test's home, never a real keyring.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        **extra,
    }
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        if name not in extra:
            env.pop(name, None)
    return env


def switchboard(*args: str, home: Path, timeout: float = CLI_TIMEOUT, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT, env=cli_env(home, **env), capture_output=True, text=True, timeout=timeout,
    )


def popen(*args: str, home: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT, env=cli_env(home, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def home_config(home: Path, servers: dict[str, Any] | None = None, **gateway: Any) -> Path:
    """The default config file of `home` (what a user's `switchboard start` reads), on port 0."""
    return write_config(home / "config" / "config.json", {"demo": demo_child()} if servers is None else servers,
                        **gateway)


def runtime_file(home: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads((home / "state" / RUNTIME_NAME).read_text())
    except FileNotFoundError:
        return None
    return data


def alive(process: psutil.Process) -> bool:
    """Running (a zombie nobody reaped runs nothing: in this container pid 1 does not reap orphans)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def tree(pid: int) -> list[psutil.Process]:
    process = psutil.Process(pid)
    return [process, *process.children(recursive=True)]


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Leftovers:
    """Processes a test started; whatever still runs at the end is killed, and the test fails for it."""

    def __init__(self) -> None:
        self.watched: dict[int, psutil.Process] = {}

    def watch(self, processes: list[psutil.Process]) -> list[psutil.Process]:
        for process in processes:
            self.watched.setdefault(process.pid, process)
        return processes

    def running(self) -> list[psutil.Process]:
        return [p for p in self.watched.values() if alive(p)]


@contextlib.contextmanager
def no_leftovers() -> Iterator[Leftovers]:
    """`with no_leftovers() as watched:` every process watched is gone at the end, or killed and the test fails."""
    watched = Leftovers()
    failed = False
    try:
        yield watched
    except BaseException:
        failed = True
        raise
    finally:
        left = watched.running()
        for process in left:
            with contextlib.suppress(psutil.Error):
                process.kill()
        if not failed:
            assert not left, f"processes left behind: {left}"
