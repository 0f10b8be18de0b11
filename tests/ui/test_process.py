"""The shipped entry point as a real process: serves, stays single-instance, Ctrl-C exits 0 with no orphans."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import psutil

from tests.conftest import ROOT, demo_child, write_config


def launch(config: Path, home: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "SWITCHBOARD_HOME": str(home),
        "QT_QPA_PLATFORM": "offscreen",  # the tray app, with no display server needed
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


def test_app_serves_is_single_instance_and_quits_cleanly_on_ctrl_c(tmp_path, isolated_home):
    config = write_config(tmp_path / "config.json", {"demo": demo_child()})
    proc = launch(config, isolated_home)
    try:
        url = serving_url(isolated_home, proc)
        health = url.replace("/mcp", "/health")
        # 503 ("starting") until the demo child's first start is over, then 200: scripts can wait on it.
        statuses = [httpx2.get(health, timeout=5).status_code]
        deadline = time.monotonic() + 30
        while statuses[-1] != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
            statuses.append(httpx2.get(health, timeout=5).status_code)
        assert set(statuses) <= {200, 503} and statuses[-1] == 200, statuses
        assert httpx2.get(health, timeout=5).json()["status"] == "ok"
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children, "the demo child should be running under the app"

        second = launch(config, isolated_home)
        _out, err = second.communicate(timeout=20)
        assert second.returncode == 0
        assert "already running" in err
        assert proc.poll() is None, "the first instance keeps running"

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"orphans left behind: {alive}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
