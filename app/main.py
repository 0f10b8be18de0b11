"""The desktop entry point: one process, two threads — Qt on the main thread, the gateway on its own.

`switchboard` (no subcommand, with a display) lands here via app.cli. Qt's loop is a qasync loop
created explicitly (never `qasync.run()`, which swaps the global loop policy on Python < 3.12) and
carries only the UI's own async work. DesktopApp starts the gateway on its own asyncio loop (uvloop
when importable) in a dedicated thread, as `switchboard serve` runs it, and stops it on Quit:
on one shared qasync loop the gateway's tail latency was twice the headless one (bench/README.md).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import qasync

    from app.daemon.instance import InstanceLock

log = logging.getLogger(__name__)


def run_tray(config_path: Path | None = None) -> int:
    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app import __version__, logs, paths
    from app.daemon.instance import InstanceLockError
    from app.ui import icons
    from app.ui.running_elsewhere import RunningElsewhere, claim_for_tray
    from app.ui.single_instance import ask_running_instance

    qt_app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(qt_app, QApplication)
    qt_app.setApplicationName("Switchboard")
    qt_app.setApplicationVersion(__version__)
    qt_app.setDesktopFileName("switchboard")
    qt_app.setWindowIcon(icons.app_icon())
    qt_app.setQuitOnLastWindowClosed(False)  # the tray keeps running with no window open

    if ask_running_instance():
        print("Switchboard is already running; its control panel is now in front.", file=sys.stderr)
        return 0

    log_path = logs.setup(paths.log_dir())
    first_run = not (config_path or paths.default_config_path()).exists()  # build_services writes the first one
    loop = qasync.QEventLoop(qt_app)
    asyncio.set_event_loop(loop)
    # Python runs signal handlers only when it gets control; a slow timer hands it control while Qt idles.
    heartbeat = QTimer()
    heartbeat.start(250)
    heartbeat.timeout.connect(lambda: None)
    # One instance per user, whatever started it: a headless gateway already running is not joined by a
    # second one (see app/ui/running_elsewhere.py); Ctrl-C while asking leaves it running.
    asking: list[RunningElsewhere] = []
    def leave_running() -> None:
        for box in list(asking):
            box.leave()

    _quit_on_signals(loop, leave_running)
    try:
        lock = loop.run_until_complete(
            claim_for_tray(paths.state_dir(), (config_path or paths.default_config_path()).absolute(), asking=asking)
        )
    except InstanceLockError as exc:
        QMessageBox.critical(None, "Switchboard cannot start", str(exc))
        print(f"switchboard: {exc}", file=sys.stderr)
        lock = None
        code = 2
    else:
        code = 0
    if lock is None:
        loop.close()
        asyncio.set_event_loop(None)
        return code

    try:
        return _run_desktop(loop, lock, config_path, log_path, first_run)
    finally:
        lock.release()


def _run_desktop(
    loop: qasync.QEventLoop, lock: InstanceLock, config_path: Path | None, log_path: Path, first_run: bool
) -> int:
    from PySide6.QtWidgets import QMessageBox

    from app import __version__, logs, paths
    from app.config import ConfigError
    from app.gateway import GatewayError
    from app.launch import build_services
    from app.secrets import KeyStoreError
    from app.ui.collector import GuiThreadCollector
    from app.ui.desktop import DesktopApp
    from app.ui.single_instance import InstanceServer

    try:
        services = build_services(config_path)
    except (ConfigError, GatewayError, KeyStoreError) as exc:
        QMessageBox.critical(None, "Switchboard cannot start", f"{exc}\n\nFix the config file and start again.")
        print(f"switchboard: {exc}", file=sys.stderr)
        loop.close()
        asyncio.set_event_loop(None)
        return 2
    if services.config.config.gateway.log_format == "json":  # the config asks for JSON lines
        logs.setup(paths.log_dir(), fmt="json")

    desktop = DesktopApp(services, instance=lock, first_run=first_run)
    collector = GuiThreadCollector()  # garbage with Qt objects in it is freed on this thread only
    instance = InstanceServer(desktop.show_panel)
    if not instance.listen():
        log.warning("could not listen for other launches on %s", instance.name)
    _quit_on_signals(loop, desktop.request_quit)
    log.info("Switchboard %s desktop app starting (log: %s)", __version__, log_path)
    try:
        with loop:
            code = loop.run_until_complete(desktop.run())
    except KeyboardInterrupt:
        code = 0
    finally:
        instance.close()
        collector.stop()
        desktop.host.close_blocking()  # only if run() did not get to stop it (e.g. KeyboardInterrupt)
        services.close()
        asyncio.set_event_loop(None)
    log.info("Switchboard quit")
    return code


def _quit_on_signals(loop: asyncio.AbstractEventLoop, quit_app: object) -> None:
    """Ctrl-C and SIGTERM quit gracefully (gateway stopped, children reaped), like the tray's Quit."""
    assert callable(quit_app)
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, quit_app)
        except (NotImplementedError, RuntimeError, ValueError):
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(quit_app))
