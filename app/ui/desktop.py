"""The desktop app: starts the gateway on its own thread and owns the tray, the panel and their models.

Qt runs on the main thread (qasync loop, for the UI's own async work); the gateway runs on its
own loop in a GatewayThread. Every call into the gateway goes through that thread's loop and is
awaited here; what the views show comes from the gateway's latest snapshot and its event feed.

Every action the tray or the panel offers is a method here, so both behave the same and tests
can drive them. Actions that touch the gateway, files or the keyring run as tasks; their errors
come back through `notice` as sentences.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QSystemTrayIcon

from app.daemon.admin import PREFIX as ADMIN_PREFIX
from app.daemon.admin import admin_routes
from app.daemon.hosting import publish
from app.daemon.instance import InstanceLock
from app.gateway import (
    CALL_STATUSES,
    CallRecord,
    CallRecorded,
    ChildStateChanged,
    ConfigApplied,
    GatewayError,
    GatewayStateChanged,
    HistoryError,
)
from app.launch import Services
from app.logs import LOG_NAME
from app.platform.autostart import Autostart
from app.ui.approvals import ApprovalActions
from app.ui.connections import ClientConnections
from app.ui.host.feed import EventFeed
from app.ui.host.gateway_thread import GatewayThread
from app.ui.host.snapshot import GatewaySnapshot
from app.ui.keys import KeyInfo, KeySource, MainKeySource
from app.ui.login import LaunchAtLogin
from app.ui.models.activity import ActivityModel
from app.ui.models.rates import CallRates
from app.ui.models.tables import ClientsModel, ServersModel
from app.ui.sign_ins import SignInActions
from app.ui.tasks import TaskRunner, UserError

log = logging.getLogger(__name__)
CLIENT_TICK_MS = 5000
HISTORY_PAGE = 1000  # the most calls one history read brings into Activity


class DesktopApp(QObject):
    notice = Signal(str, str, str)  # level ("info" | "done" | "warning" | "error"), sentence, topic ("" or a server)
    resolved = Signal(str)  # the problem about this topic is over (a failed server runs again)
    status_changed = Signal()  # gateway state, child states or counts changed (once per batch)
    key_changed = Signal()
    # `switchboard stop` asked through the admin route, on the gateway's thread: queued to the Qt thread.
    shutdown_requested = Signal()

    def __init__(
        self,
        services: Services,
        keys: KeySource | None = None,
        *,
        tray_available: bool | None = None,
        first_run: bool = False,
        instance: InstanceLock | None = None,
        autostart: Autostart | None = None,
    ) -> None:
        """`instance`: the held per-user lock; where the gateway serves is published to it (for `status`,
        `stop`). `autostart`: launch at login (default: this OS's, created when first read)."""
        super().__init__()
        # The tray keeps the app alive with every window closed; only Quit (or Ctrl-C) ends it.
        QGuiApplication.setQuitOnLastWindowClosed(False)
        self.services = services
        gateway = services.gateway
        self.gateway = gateway  # lives on its own thread once run() starts: only `host` may call into it
        self.host = GatewayThread(gateway)
        # The main key, read and rotated off both loops (a rotation also updates the gateway's verifier).
        self.keys: KeySource = keys if keys is not None else MainKeySource(services.main_key, self.host.to_thread)
        self.key: KeyInfo | None = None
        self.key_error: str | None = None
        self.last_error: str | None = None
        self.tray_available = QSystemTrayIcon.isSystemTrayAvailable() if tray_available is None else tray_available
        self.tasks = TaskRunner(lambda sentence: self.report("error", sentence), lambda: str(self.log_path))
        self.servers = ServersModel(lambda: self.host.snapshot)
        self.clients = ClientsModel(lambda: self.host.snapshot)
        self.activity = ActivityModel(self.snapshot.loaded.config.gateway.activity_size)
        self.rates = CallRates()
        self.history = services.history  # None: history off or its file unusable (history_error says why)
        self.servers.toggle_requested.connect(self.set_enabled)
        self.feed = EventFeed(gateway.bus, self, stamp=lambda: self.host.snapshot.version)
        self.feed.batch.connect(self._take)
        self._clock = QTimer(self)
        self._clock.setInterval(CLIENT_TICK_MS)
        self._clock.timeout.connect(self._tick)
        self._clock.start()
        self._quit = asyncio.Event()
        self.quitting = False
        self.first_run = first_run  # the config file was just created: offer to import clients' own servers
        self.connections = ClientConnections(self)
        self.login = LaunchAtLogin(self, autostart)
        self.approvals = ApprovalActions(self)
        self.sign_ins = SignInActions(self)
        self.instance = instance
        self.shutdown_requested.connect(self.request_quit)
        gateway.routes[ADMIN_PREFIX] = admin_routes(self.shutdown_requested.emit)

        from app.ui.panel.window import ControlPanel
        from app.ui.tray import Tray

        self.panel = ControlPanel(self)
        self.tray = Tray(self)
        self.servers.refresh()

    # --- what the views read ----------------------------------------------------------------------
    @property
    def log_path(self) -> Any:
        return self.services.log_dir / LOG_NAME

    @property
    def snapshot(self) -> GatewaySnapshot:
        """The gateway's state as of its latest snapshot (taken on its thread; safe to read here)."""
        return self.host.snapshot

    def status(self) -> str:
        """"running", "degraded", "starting", "stopping" or "stopped"."""
        state = self.snapshot.state
        if state != "running":
            return state
        enabled = [r for r in self.servers.rows if r.enabled]
        failing = any(r.state in ("failed", "backoff", "needs sign-in") for r in enabled)
        return "degraded" if failing or self.snapshot.config_error else "running"

    def counts(self) -> tuple[int, int, int, int]:
        """(children running, children enabled, children failing, clients connected)."""
        enabled = [r for r in self.servers.rows if r.enabled]
        running = sum(r.state == "running" for r in enabled)
        failing = sum(r.state in ("failed", "backoff") for r in enabled)
        return running, len(enabled), failing, len(self.clients.rows)

    def summary(self) -> str:
        """One line for the tray menu and the panel header."""
        status = self.status()
        if status in ("stopped", "starting", "stopping"):
            text = {"stopped": "Gateway stopped", "starting": "Gateway starting…", "stopping": "Gateway stopping…"}
            return text[status]
        running, enabled, failing, clients = self.counts()
        parts = [f"{running} of {enabled} servers running" if enabled else "no servers enabled"]
        if failing:
            parts.append(f"{failing} failing")
        waiting = sum(r.enabled and r.state == "needs sign-in" for r in self.servers.rows)
        if waiting:
            parts.append(f"{waiting} waiting for a sign-in")
        parts.append(f"{clients} client{'s' if clients != 1 else ''}")
        if self.snapshot.config_error:
            parts.append("the config file has a problem")
        return "Running · " + ", ".join(parts)

    # --- events -----------------------------------------------------------------------------------
    def _take(self, events: list[Any]) -> None:
        self.servers.take(events)
        self.clients.take(events)
        self.activity.take(events)
        for event in events:
            if isinstance(event, CallRecorded):
                self._rate(event.record)
        for event in events:
            if isinstance(event, ChildStateChanged) and event.state == "failed" and event.error:
                self.report("warning", f"Server '{event.name}' failed: {event.error}", topic=event.name)
            elif isinstance(event, ChildStateChanged) and event.state in ("running", "disabled"):
                self.resolved.emit(event.name)
            elif isinstance(event, ConfigApplied) and event.ok and event.external:
                self.report("info", event.message)
        if any(isinstance(e, GatewayStateChanged) for e in events):
            self.clients.refresh(force=True)
        self.status_changed.emit()

    def _rate(self, record: CallRecord) -> None:
        if record.duration_ms is not None:
            self.rates.add(record.server, record.started_at + record.duration_ms / 1000, record.duration_ms)

    # --- the history (read on a worker thread, never on Qt's) --------------------------------------
    async def search_history(self, text: str = "", status: str = "") -> int:
        """Fill Activity from the history: the newest calls matching `text` (anywhere in client, key, server,
        tool or error) and `status`, across restarts. Returns how many were read (0 with history off)."""
        records = await self._read_history(text, status)
        if records is not None:
            self.activity.load(records)
        return len(records or [])

    async def load_history(self) -> None:
        """At start: the last calls (earlier runs' too) in Activity, and the charts' last minutes."""
        records = await self._read_history("", "")
        if not records:
            return
        self.activity.load(records)
        since = time.time() - self.rates.window_s
        for record in reversed(records):
            if record.started_at >= since:
                self._rate(record)

    async def _read_history(self, text: str, status: str) -> list[CallRecord] | None:
        history = self.history
        if history is None:
            return None
        wanted = status if status in CALL_STATUSES else None
        limit = min(self.activity.limit, HISTORY_PAGE)
        try:
            return await asyncio.to_thread(history.calls, text=text.strip() or None, status=wanted, limit=limit)
        except HistoryError as exc:
            self.report("warning", f"Could not read the call history: {exc}")
            return None

    def _tick(self) -> None:
        self.clients.tick()
        if any(r.state == "backoff" for r in self.servers.rows):
            self.servers.dataChanged.emit(self.servers.index(0, 2), self.servers.index(len(self.servers.rows) - 1, 2))

    def report(self, level: str, sentence: str, topic: str = "") -> None:
        if level == "error":
            self.last_error = sentence
        log.log(logging.ERROR if level == "error" else logging.INFO, "%s", sentence)
        self.notice.emit(level, sentence, topic)

    # --- lifecycle --------------------------------------------------------------------------------
    async def run(self) -> int:
        """Start the gateway's thread and serve, wait for Quit, then stop gracefully. Returns the exit code."""
        self.host.start()
        if not self.tray_available:
            self.panel.show_panel()
        self.tasks.spawn(self.load_key(), "read the API key")
        self.tasks.spawn(self.load_history(), "read the call history")
        if self.services.history_error:
            self.report("warning", f"{self.services.history_error}. Calls are shown but not recorded this run.")
        await self._start()
        if self.first_run:
            self.tasks.spawn(self.connections.offer_imports(), "look for the servers your AI clients already have")
        await self._quit.wait()
        await self.shutdown()
        return 0

    async def _start(self) -> None:
        self.last_error = None
        try:
            await self.host.call(self.gateway.start)
        except GatewayError as exc:
            self.report("error", _for_panel(exc))
            self.status_changed.emit()
            if not self.panel.isVisible():
                self.show_panel()
            return
        self.report("done", f"Serving at {self.snapshot.url}")
        self.status_changed.emit()
        await self._publish()

    async def _stop(self) -> None:
        await self.host.call(self.gateway.stop)
        self.status_changed.emit()
        await self._publish()

    async def _publish(self) -> None:
        """Tell other processes (`status`, `stop`, a second launch) where this gateway serves now."""
        if self.instance is not None:
            snapshot = self.snapshot
            await asyncio.to_thread(publish, self.instance, snapshot.base_url, snapshot.port)

    async def shutdown(self) -> None:
        self.quitting = True
        self._clock.stop()
        try:
            await self.host.close()  # on its loop: in-flight calls answered with an error, children stopped
        finally:
            self.feed.close()
        self.tray.hide()
        self.panel.close()

    def request_quit(self) -> None:
        self.quitting = True
        self._quit.set()

    # --- actions (slots: they never block; work runs as tasks) ------------------------------------
    def start(self) -> asyncio.Task[Any]:
        return self.tasks.spawn(self._start(), "start the gateway")

    def stop(self) -> asyncio.Task[Any]:
        return self.tasks.spawn(self._stop(), "stop the gateway")

    def set_enabled(self, name: str, enabled: bool) -> asyncio.Task[Any]:
        return self.tasks.spawn(self._set_enabled(name, enabled), f"{'enable' if enabled else 'disable'} {name}")

    async def _set_enabled(self, name: str, enabled: bool) -> None:
        if self.snapshot.state != "running":
            raise UserError(f"Start the gateway first to {'enable' if enabled else 'disable'} '{name}'.")
        await self.host.call(self.gateway.set_enabled, name, enabled)
        self.servers.refresh()
        self.status_changed.emit()

    def restart_child(self, name: str) -> asyncio.Task[Any]:
        return self.tasks.spawn(self._restart_child(name), f"restart {name}")

    async def _restart_child(self, name: str) -> None:
        if self.snapshot.state != "running":
            raise UserError(f"Start the gateway first to restart '{name}'.")
        await self.host.call(self.gateway.restart_child, name)
        self.report("info", f"Restarting '{name}'.")

    def restart_gateway(self) -> asyncio.Task[Any]:
        return self.tasks.spawn(self._restart_gateway(), "restart the gateway")

    async def _restart_gateway(self) -> None:
        error = self.snapshot.config_error
        if error is not None:
            raise UserError(f"The gateway was not restarted: {error}")
        await self._stop()
        await self._start()

    def set_address(self, host: str, port: int) -> asyncio.Task[Any]:
        return self.tasks.spawn(self._set_address(host, port), "change the gateway's address")

    async def _set_address(self, host: str, port: int) -> None:
        # The store's locked read-modify-write: a bad host is refused with the config's own sentence, unwritten.
        await asyncio.to_thread(self.services.config.set_address, host, port)
        await self._restart_gateway()
        if self.snapshot.url:
            self.report("info", f"Now serving at {self.snapshot.url}. Give your clients this new URL.")

    def copy_url(self) -> bool:
        url = self.snapshot.url
        if not url:
            self.report("warning", "The gateway is not running, so there is no URL to copy. Start it first.")
            return False
        QGuiApplication.clipboard().setText(url)
        self.report("info", f"Copied {url}")
        return True

    def copy_key(self) -> bool:
        if self.key is None:
            self.tasks.spawn(self._load_then_copy(), "read the API key")
            return False
        QGuiApplication.clipboard().setText(self.key.value)
        self.report("info", "Copied the API key. Paste it into your client's settings.")
        return True

    async def _load_then_copy(self) -> None:
        await self.load_key()
        if self.key is not None:
            self.copy_key()

    async def load_key(self) -> None:
        try:
            self.key = await self.keys.load()
            self.key_error = None
        except Exception as exc:
            log.exception("could not read the API key")
            self.key_error = f"Could not read the API key: {exc}."
            raise UserError(self.key_error) from None
        finally:
            self.key_changed.emit()

    def rotate_key(self) -> asyncio.Task[Any]:
        return self.tasks.spawn(self._rotate_key(), "rotate the API key")

    async def _rotate_key(self) -> None:
        self.key = await self.keys.rotate()
        self.key_changed.emit()
        names = sorted({c.name for c in self.snapshot.clients if c.key_name == "main"})
        who = f" Update these clients, which used the old key: {', '.join(names)}." if names else ""
        self.report("info", f"New API key in use now; the old one no longer works.{who}")

    def show_panel(self) -> None:
        self.panel.show_panel()


def _for_panel(error: GatewayError) -> str:
    """The core's fixes name command-line flags; in the app the user changes things in Settings."""
    if error.kind == "port_in_use":
        return f"{error.problem} Choose another port in Settings."
    return str(error)
