"""The tray and the headless daemon on one user's account: never two gateways. Real processes: `switchboard
start` daemons, the tray app under QT_QPA_PLATFORM=offscreen, the real instance lock and admin route.

The tray does not attach to a running daemon (app/ui/running_elsewhere.py says why): it asks whether to
stop it and run here, or leave it running, and binds nothing while it asks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx2
import psutil
import pytest

from app import paths
from app.daemon.admin import shutdown_url
from app.daemon.hosting import claim
from app.daemon.instance import InstanceLock, running_instance
from app.launch import build_services
from app.ui.desktop import DesktopApp
from app.ui.running_elsewhere import LEAVE, STOP_HERE, RunningElsewhere, claim_for_tray
from tests.conftest import demo_child, wait_for, write_config
from tests.daemon.processes import alive, home_config, no_leftovers, popen, runtime_file, switchboard, tree, wait_until
from tests.ui.conftest import save_png


@pytest.fixture
def daemon(isolated_home: Path) -> Iterator[psutil.Process]:
    """A headless gateway started as users start it (`switchboard start`), with its demo server; stopped after."""
    home_config(isolated_home)
    with no_leftovers() as watched:
        started = switchboard("start", home=isolated_home)
        assert started.returncode == 0, started.stderr
        wait_until(lambda: switchboard("health", home=isolated_home).returncode == 0, "the demo server to run")
        info = running_instance(isolated_home / "state")
        assert info is not None
        watched.watch(tree(info.pid))
        yield psutil.Process(info.pid)
        if alive(psutil.Process(info.pid)):
            assert switchboard("stop", home=isolated_home).returncode == 0


def listening(process: psutil.Process) -> list[object]:
    return [c for c in process.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]


def read_stderr(proc: subprocess.Popen[str]) -> list[str]:
    lines: list[str] = []
    assert proc.stderr is not None
    stream = proc.stderr
    threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in stream), daemon=True).start()
    return lines


def test_a_tray_launched_while_a_daemon_runs_binds_nothing_and_leaves_it_running(
    isolated_home: Path, daemon: psutil.Process
) -> None:
    before = runtime_file(isolated_home)
    tray = popen(home=isolated_home, QT_QPA_PLATFORM="offscreen")
    said = read_stderr(tray)
    try:
        wait_until(lambda: any("asking whether to stop it" in line for line in said), "the tray to ask")
        assert f"Switchboard is already running in the background (pid {daemon.pid})" in "\n".join(said)
        assert listening(psutil.Process(tray.pid)) == []  # no second gateway, not even for a moment
        assert psutil.Process(tray.pid).children() == []  # and no second set of servers
        assert runtime_file(isolated_home) == before
        tray.send_signal(signal.SIGTERM)  # while it asks: the same as "Leave it running"
        assert tray.wait(30) == 0
    finally:
        if tray.poll() is None:
            tray.kill()
            tray.wait()
    assert any(f"Switchboard is already running: the headless gateway (pid {daemon.pid}" in line for line in said)
    assert switchboard("health", home=isolated_home).returncode == 0, "the daemon still serves"


def test_stop_it_and_run_here_stops_the_daemon_and_takes_its_place(
    isolated_home: Path, daemon: psutil.Process, run: object
) -> None:
    daemon_tree = tree(daemon.pid)
    asking: list[RunningElsewhere] = []

    async def scenario() -> InstanceLock | None:
        import asyncio

        config = (isolated_home / "config" / "config.json").absolute()
        task = asyncio.ensure_future(claim_for_tray(paths.state_dir(), config, asking=asking))
        await wait_for(lambda: asking, what="the question")
        box = asking[0]
        assert box.isVisible()
        assert f"pid {daemon.pid}" in box.text()
        info = running_instance(paths.state_dir())
        assert info is not None and info.url and info.url in box.text()
        assert {b.text() for b in box.buttons()} == {STOP_HERE, LEAVE}
        assert box.defaultButton() is box.leave_button and box.escapeButton() is box.leave_button
        await save_png(box, "running-elsewhere.png")
        box.stop_button.click()
        return await asyncio.wait_for(task, 60)

    lock = run(scenario(), 90)  # type: ignore[operator]
    assert isinstance(lock, InstanceLock) and lock.held
    try:
        assert not [p for p in daemon_tree if alive(p)], "the daemon and its servers are gone"
        published = runtime_file(isolated_home)
        assert published is not None and (published["pid"], published["mode"]) == (os.getpid(), "tray")
    finally:
        lock.release()


def test_leave_it_running_starts_nothing(isolated_home: Path, daemon: psutil.Process, run: object) -> None:
    asking: list[RunningElsewhere] = []
    before = runtime_file(isolated_home)

    async def scenario() -> InstanceLock | None:
        import asyncio

        task = asyncio.ensure_future(claim_for_tray(paths.state_dir(), Path("/x/config.json"), asking=asking))
        await wait_for(lambda: asking, what="the question")
        asking[0].leave_button.click()
        return await asyncio.wait_for(task, 30)

    assert run(scenario()) is None  # type: ignore[operator]
    assert alive(daemon) and runtime_file(isolated_home) == before


def test_serve_start_and_stop_while_the_tray_runs(isolated_home: Path, tmp_path: Path) -> None:
    """The tray holds the instance: `serve` says it is already running (not "port in use"), `status`
    shows it, and `stop` asks it through the admin route: it quits as on Quit, its servers stopped."""
    config = write_config(tmp_path / "config.json", {"demo": demo_child()})
    with no_leftovers() as watched:
        tray = popen("--config", str(config), home=isolated_home, QT_QPA_PLATFORM="offscreen")
        said = read_stderr(tray)
        try:
            info = wait_until(lambda: (i := running_instance(isolated_home / "state")) and i.url and i, "the tray")
            assert (info.pid, info.mode, info.config) == (tray.pid, "tray", str(config.absolute()))
            wait_until(lambda: switchboard("health", home=isolated_home).returncode == 0, "the demo server")
            watched.watch(tree(tray.pid))

            serve = switchboard("serve", "--port", str(info.port), home=isolated_home)
            assert serve.returncode == 0
            assert f"Switchboard is already running: the tray app (pid {tray.pid}," in serve.stderr
            assert "in use by another program" not in serve.stderr
            status = switchboard("status", home=isolated_home)
            assert status.returncode == 0 and f"the tray app (pid {tray.pid}," in status.stdout
            assert "demo: running" in status.stdout
            refused = switchboard("restart", home=isolated_home)
            assert refused.returncode == 1 and "runs as the tray app here" in refused.stderr

            stopped = switchboard("stop", home=isolated_home)
            assert stopped.returncode == 0, stopped.stderr
            assert f"Stopped Switchboard (pid {tray.pid}): it stopped its servers and exited." in stopped.stderr
            assert tray.wait(30) == 0
            assert not watched.running()
            assert not any("Traceback" in line for line in said), said
        finally:
            if tray.poll() is None:
                tray.kill()
                tray.wait()


def test_the_tray_publishes_where_it_serves_and_quits_when_asked(isolated_home: Path, tmp_path: Path,
                                                                 run: object) -> None:
    """In-process: the DesktopApp keeps runtime.json current (stopped, started again) and the admin route
    makes run() return as Quit does."""
    config = write_config(tmp_path / "config.json", {})
    lock = claim(paths.state_dir(), mode="tray", config=config)
    assert isinstance(lock, InstanceLock)
    services = build_services(config)

    async def scenario() -> int:
        import asyncio

        app = DesktopApp(services, tray_available=True, instance=lock)
        task = asyncio.ensure_future(app.run())
        await wait_for(lambda: (i := running_instance(paths.state_dir())) is not None and i.url == app.snapshot.url
                    and i.url is not None, what="the URL published")
        await app.stop()
        await wait_for(lambda: (i := running_instance(paths.state_dir())) is not None and i.url is None,
                    what="the stopped gateway published")
        await app.start()
        info = None
        await wait_for(lambda: (info := running_instance(paths.state_dir())) is not None and info.control is not None,
                    what="the URL published again")
        info = running_instance(paths.state_dir())
        assert info is not None and info.control is not None and info.url == app.snapshot.url
        key = await asyncio.to_thread(services.main_key.value)
        async with httpx2.AsyncClient(trust_env=False) as http:
            answer = await http.post(shutdown_url(info.control), headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 202
        return await asyncio.wait_for(task, 30)

    try:
        assert run(scenario()) == 0  # type: ignore[operator]
    finally:
        services.close()
        lock.release()
