"""The background service as a user drives it: real `switchboard` processes on 127.0.0.1 port 0, detached
daemons, the real instance lock, real MCP calls. Every process of a daemon's tree is gone at the end."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import anyio
import psutil
import pytest
from mcp import Client

from app.daemon.instance import running_instance
from tests.conftest import ROOT, stdio_child
from tests.daemon.processes import alive, home_config, no_leftovers, runtime_file, switchboard, tree, wait_until

PORT_FIX = "Choose another port (--port, or gateway.port in the config file)."


def api_key(home: Path) -> str:
    return (home / "config" / "api-key").read_text().strip()  # the fail keyring: a 0600 file


async def tool_names(url: str, key: str) -> list[str]:
    async with Client(f"{url}?api_key={key}", mode="legacy") as client:
        return sorted(tool.name for tool in (await client.list_tools()).tools)


def health_ok(home: Path) -> bool:
    return switchboard("health", home=home).returncode == 0


def test_start_status_second_start_stop_and_nothing_is_left(isolated_home: Path) -> None:
    home = isolated_home
    home_config(home)
    with no_leftovers() as watched:
        before = switchboard("status", home=home)
        assert before.returncode == 3, before
        assert before.stdout.startswith("Switchboard is not running.")

        started = switchboard("start", home=home)
        assert started.returncode == 0, started.stderr
        info = running_instance(home / "state")
        assert info is not None and info.mode == "headless" and info.url
        assert f"Switchboard is running in the background: the headless gateway (pid {info.pid}," in started.stdout
        assert info.url in started.stdout
        assert os.getsid(info.pid) == info.pid != os.getsid(0), "detached: a session of its own"
        assert psutil.Process(info.pid).ppid() != os.getpid(), "not a child of the caller any more"

        wait_until(lambda: health_ok(home), "every server to run")
        daemon = watched.watch(tree(info.pid))
        assert len(daemon) >= 2, "the gateway and its demo server"
        names = anyio.run(tool_names, info.url, api_key(home))
        assert names and all(name.startswith("demo__") for name in names)

        status = switchboard("status", home=home)
        assert status.returncode == 0, status
        out = status.stdout
        assert f"Switchboard is running: the headless gateway (pid {info.pid}," in out and info.url in out
        assert f"demo: running, {len(names)} tools" in out
        assert str(home / "config" / "config.json") in out and str(home / "logs" / "switchboard.log") in out
        assert f"a file readable only by you: {home / 'config' / 'api-key'}" in out
        report = json.loads(switchboard("status", "--json", home=home).stdout)
        assert (report["running"], report["pid"], report["url"], report["mode"]) == (True, info.pid, info.url,
                                                                                      "headless")
        assert report["servers"] == [{"name": "demo", "state": "running", "tools": len(names)}]
        assert report["uptime_s"] >= 0 and report["health"]["status"] == "ok"

        # A second instance of any kind reports the first one and starts nothing.
        for verb in (["start"], ["serve"], ["start", "--port", "0"]):
            again = switchboard(*verb, home=home)
            assert again.returncode == 0, again
            assert "Switchboard is already running: the headless gateway" in again.stderr, again.stderr
            assert f"pid {info.pid}" in again.stderr and "in use by another program" not in again.stderr
        assert running_instance(home / "state") == info  # the second ones did not touch runtime.json

        stopped = switchboard("stop", home=home)
        assert stopped.returncode == 0, stopped
        assert f"Stopped Switchboard (pid {info.pid}): it stopped its servers and exited." in stopped.stderr
        assert not watched.running(), "stop returns once the whole tree is gone"
        after = switchboard("status", home=home)
        assert after.returncode == 3 and after.stdout.startswith("Switchboard is not running.")
        assert runtime_file(home) is None
        log = (home / "logs" / "switchboard.log").read_text()
        assert "Stopping: asked to by `switchboard stop` (the admin API)" in log
        assert "Switchboard stopped" in log

        not_running = switchboard("stop", home=home)
        assert (not_running.returncode, not_running.stderr.strip()) == (0, "Switchboard is not running.")


def test_a_killed_daemon_leaves_a_stale_file_that_the_next_start_replaces(isolated_home: Path) -> None:
    home = isolated_home
    home_config(home, {})
    with no_leftovers() as watched:
        assert switchboard("start", home=home).returncode == 0
        first = running_instance(home / "state")
        assert first is not None
        watched.watch(tree(first.pid))
        os.kill(first.pid, signal.SIGKILL)
        wait_until(lambda: not alive(psutil.Process(first.pid)) if psutil.pid_exists(first.pid) else True,
                   "the daemon to die")
        stale = runtime_file(home)
        assert stale is not None and stale["pid"] == first.pid  # left behind by kill -9...
        status = switchboard("status", home=home)
        assert status.returncode == 3, status  # ...and not believed

        again = switchboard("start", home=home)
        assert again.returncode == 0, again.stderr
        second = running_instance(home / "state")
        assert second is not None and second.pid != first.pid
        assert runtime_file(home) == dataclasses.asdict(second)
        watched.watch(tree(second.pid))
        assert switchboard("stop", home=home).returncode == 0


def test_start_says_why_it_could_not_in_the_same_sentences_as_serve(isolated_home: Path) -> None:
    home = isolated_home
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        home_config(home, {})
        busy = switchboard("start", "--port", str(port), home=home)
        serve_said = switchboard("serve", "--port", str(port), home=home).stderr
    assert busy.returncode == 2, busy
    assert busy.stderr.splitlines() == [f"switchboard: Port {port} is in use by another program. {PORT_FIX}"]
    assert busy.stderr == serve_said
    assert running_instance(home / "state") is None and runtime_file(home) is None

    (home / "config" / "config.json").write_text(json.dumps({"gateway": {"prot": 1}, "mcpServers": {}}))
    bad = switchboard("start", home=home)
    assert bad.returncode == 2, bad
    assert "  gateway.prot: unknown field (did you mean `port`?)" in bad.stderr.splitlines()
    assert bad.stderr == switchboard("serve", home=home).stderr
    assert "Traceback" not in bad.stderr and runtime_file(home) is None


def test_restart_keeps_the_port_and_start_foreground_is_serve(isolated_home: Path) -> None:
    home = isolated_home
    home_config(home, {})
    with no_leftovers() as watched:
        assert switchboard("start", home=home).returncode == 0
        first = running_instance(home / "state")
        assert first is not None and first.port
        watched.watch(tree(first.pid))
        restarted = switchboard("restart", home=home)
        assert restarted.returncode == 0, restarted.stderr
        assert f"Stopped Switchboard (pid {first.pid})" in restarted.stderr
        second = running_instance(home / "state")
        assert second is not None and second.pid != first.pid and second.port == first.port
        watched.watch(tree(second.pid))
        assert switchboard("stop", home=home).returncode == 0

    # Nothing runs: `restart` starts it; `start --foreground` is `serve` (here: refused, as a second instance).
    with no_leftovers() as watched:
        assert switchboard("restart", home=home).returncode == 0
        third = running_instance(home / "state")
        assert third is not None
        watched.watch(tree(third.pid))
        foreground = switchboard("start", "--foreground", home=home)
        assert foreground.returncode == 0 and "already running" in foreground.stderr
        assert switchboard("stop", home=home).returncode == 0


def test_health_exits_0_only_when_every_enabled_server_runs(isolated_home: Path) -> None:
    home = isolated_home
    assert switchboard("health", home=home).returncode == 3  # not running
    home_config(home, {"good": stdio_child("toy.py"), "bad": stdio_child("toy.py", "--exit-at-start")})
    with no_leftovers() as watched:
        assert switchboard("start", home=home).returncode == 0
        info = running_instance(home / "state")
        assert info is not None
        watched.watch(tree(info.pid))

        def settled() -> dict[str, object] | None:
            body = json.loads(switchboard("health", "--json", home=home).stdout)
            return body if body["status"] != "starting" else None

        body = wait_until(settled, "the first starts to be over")
        assert body["status"] == "degraded"
        health = switchboard("health", home=home)
        assert health.returncode == 1
        assert health.stdout.startswith("degraded (HTTP 200") and "good: running" in health.stdout
        assert switchboard("stop", home=home).returncode == 0


@pytest.mark.parametrize("behaviour", ["answers-sigterm", "ignores-sigterm"])
def test_stop_falls_back_to_sigterm_then_kills_the_tree_and_says_so(tmp_path: Path, isolated_home: Path,
                                                                     behaviour: str) -> None:
    """An instance whose admin route does not answer (a closed port): SIGTERM, then the whole tree killed."""
    home = isolated_home
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    ready = tmp_path / "ready"
    home_config(home, {})
    assert switchboard("show-key", home=home).returncode == 0  # stop has a key to send: the route is tried
    with no_leftovers() as watched:
        config = home / "config" / "config.json"
        holder = psutil.Popen(
            [sys.executable, str(script), str(home / "state"), str(dead_port), behaviour, str(ready), str(config)],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True,
        )
        wait_until(ready.exists, "the holder to take the lock")
        watched.watch(tree(holder.pid))
        assert len(watched.watched) == 2
        stopped = switchboard("stop", "--timeout", "1", home=home)
        holder.wait(30)
        said = stopped.stderr
        assert stopped.returncode == 0, said
        assert f"did not answer its admin route (http://127.0.0.1:{dead_port}/api/v1/admin: Connection refused)" in said
        if behaviour == "answers-sigterm":
            # SIGTERM ended the holder; the child it left behind is not left running.
            assert "so it was sent SIGTERM; it exited. A process it had started still ran and was killed." in said
        else:
            assert "and still ran 1 s after SIGTERM, so it was killed, with the process it had started." in said
        wait_until(lambda: not watched.running(), "its child to be gone too")


HOLDER = """
import signal, subprocess, sys
from pathlib import Path
from app.daemon.instance import InstanceLock, RuntimeInfo
state, port, behaviour, ready, config = sys.argv[1:]
if behaviour == "ignores-sigterm":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
lock = InstanceLock(Path(state))
control = f"http://127.0.0.1:{port}/api/v1/admin"
lock.acquire(RuntimeInfo.for_this_process(mode="headless", config=config, control=control))
Path(ready).write_text("ok")
child.wait()
"""
