"""The Connect tab's side of the app: AI clients' config files, read and written off the Qt thread.

Every button of the tab is a method here (tests drive them the same way); the first run offers to import
the servers installed clients already have, and never imports without the user asking.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication

from app import paths
from app.connect import ClientState, Connector, GatewayView, settings_url
from app.platform.clients import ClientError, Entry, snippet
from app.ui.tasks import UserError

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp


class ClientConnections(QObject):
    changed = Signal()  # `states` (the tab's list) or `offer` changed

    def __init__(self, app: DesktopApp) -> None:
        super().__init__(app)
        self.app = app
        self.connector = Connector(app.services.config, self.gateway_view, bridge=paths.self_command())
        self.states: list[ClientState] = []
        self.offer: list[ClientState] = []  # installed clients with servers Switchboard does not have

    def gateway_view(self) -> GatewayView:
        """Where clients find this gateway, from the latest snapshot (safe to call from any thread)."""
        snapshot = self.app.snapshot
        running = snapshot.state == "running"
        return GatewayView(
            url=snapshot.url or settings_url(snapshot.loaded.config.gateway),
            running=running,
            tools={s.name: s.tools for s in snapshot.servers if s.enabled} if running else None,
            config=snapshot.config_path,
            starting=any(s.state == "starting" for s in snapshot.servers if s.enabled),
        )

    def refresh(self) -> asyncio.Task[Any]:
        return self.app.tasks.spawn(self._refresh(), "read your AI clients' config files")

    async def _refresh(self) -> None:
        self.states = await asyncio.to_thread(self.connector.overview, self.gateway_view())
        self.changed.emit()

    def connect(self, client_id: str) -> asyncio.Task[Any]:  # type: ignore[override]  # not QObject.connect
        return self.app.tasks.spawn(self._act(self.connector.connect, client_id), f"connect {client_id}")

    def disconnect(self, client_id: str) -> asyncio.Task[Any]:  # type: ignore[override]
        return self.app.tasks.spawn(self._act(self.connector.disconnect, client_id), f"disconnect {client_id}")

    async def _act(self, action: Any, client_id: str) -> None:
        try:
            done = await asyncio.to_thread(action, client_id)
        except ClientError as exc:
            raise UserError(str(exc)) from None
        finally:
            await self._refresh()
        notes = getattr(done, "notes", ())
        self.app.resolved.emit(client_id)  # this client's earlier result (a warning stays until replaced) is over
        self.app.report("warning" if notes else "info", " ".join(done.lines(self.connector.where)), topic=client_id)

    def import_servers(self, client_ids: list[str]) -> asyncio.Task[Any]:
        return self.app.tasks.spawn(self._import(client_ids), "import your AI clients' servers")

    async def _import(self, client_ids: list[str]) -> None:
        self.offer = [s for s in self.offer if s.id not in client_ids]
        try:
            report = await asyncio.to_thread(self.connector.import_servers, client_ids)
        except ClientError as exc:
            raise UserError(str(exc)) from None
        finally:
            await self._refresh()
        lines = [line for result in report.clients for line in result.lines(report.config)]
        problems = report.failed or any(c.conflicts or c.warnings or c.skipped for c in report.clients)
        self.app.report("warning" if problems else "info", " ".join(lines))

    def decline_offer(self) -> None:
        self.offer = []
        self.changed.emit()

    async def offer_imports(self) -> None:
        """First run: if installed clients have servers of their own, say so on the Connect tab (and wait)."""
        await self._refresh()
        self.offer = [s for s in self.states if s.installed and s.new_servers]
        if self.offer:
            self.changed.emit()
            self.app.panel.show_connect_tab()

    def copy_snippet(self) -> bool:
        """For a client Switchboard does not know: the common `mcpServers` JSON with the URL and the key."""
        app = self.app
        url = app.snapshot.url
        if not url:
            app.report("warning", "The gateway is not running, so there is no URL for a snippet. Start it first.")
            return False
        if app.key is None:
            app.report("warning", app.key_error or "The API key is still being read; try again in a moment.")
            return False
        entry = Entry("switchboard", url=url, headers={"Authorization": f"Bearer {app.key.value}"})
        QGuiApplication.clipboard().setText(snippet(None, entry))
        app.report(
            "info",
            "Copied the config snippet (Switchboard's URL and API key, in the common mcpServers JSON). "
            "Paste it into your client's MCP settings.",
        )
        return True
