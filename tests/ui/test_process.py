"""The shipped entry point as a real process: serves, stays single-instance, Ctrl-C exits 0 with no orphans."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import psutil
import pytest

from tests.conftest import ROOT, demo_child, write_config


@pytest.fixture
def display() -> Iterator[str]:
    """A DISPLAY that answers app.cli's probe (a TCP listener on 127.0.0.1:6000+N); Qt itself runs offscreen.

    app.cli goes to the tray only when an X server answers; CI has none, and Qt never needs one offscreen.
    """
    for number in range(50, 100):
        listener = socket.socket()
        try:
            listener.bind(("127.0.0.1", 6000 + number))
        except OSError:
            listener.close()
            continue
        listener.listen(8)
        try:
            yield f"127.0.0.1:{number}"
        finally:
            listener.close()
        return
    pytest.skip("no free port in 6050-6099 to stand in for a display")


def launch(config: Path, home: Path, display: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "SWITCHBOARD_HOME": str(home),
        "QT_QPA_PLATFORM": "offscreen",
        "DISPLAY": display,  # app.cli only goes to the tray when a display answers
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",  # never the developer's keyring: the 0600 file
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--config", str(config)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def serving_url(home: Path, proc: subprocess.Popen[str], timeout: float = 20) -> str:
    log = home / "logs" / "switchboard.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the app exited early: {proc.communicate()}"
        if log.exists():
            found = re.search(r"Serving at (http://\S+/mcp)", log.read_text())
            if found:
                return found.group(1)
        time.sleep(0.05)
    raise AssertionError("the app did not start serving")


def test_app_serves_is_single_instance_and_quits_cleanly_on_ctrl_c(tmp_path, isolated_home, display):
    config = write_config(tmp_path / "config.json", {"demo": demo_child()})
    started = time.monotonic()
    proc = launch(config, isolated_home, display)
    try:
        url = serving_url(isolated_home, proc)
        launch_to_serving = time.monotonic() - started
        health = httpx2.get(url.replace("/mcp", "/health"), timeout=5)
        assert health.status_code == 200
        deadline = time.monotonic() + 15
        while not psutil.Process(proc.pid).children(recursive=True) and time.monotonic() < deadline:
            time.sleep(0.05)
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children, "the demo child should be running under the app"

        second = launch(config, isolated_home, display)
        _out, err = second.communicate(timeout=20)
        assert second.returncode == 0
        assert "already running" in err
        assert proc.poll() is None, "the first instance keeps running"

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"orphans left behind: {alive}"
        assert launch_to_serving < 20
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
