"""The tray icon: its picture shows the gateway's state, and its menu is rebuilt from live state on every open."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.ui import icons, style

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp


class Tray(QObject):
    def __init__(self, app: DesktopApp) -> None:
        super().__init__(app)
        self.app = app
        self.icon = QSystemTrayIcon(icons.tray_icon("stopped"), self)
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self.rebuild)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        app.status_changed.connect(self.update_icon)
        app.notice.connect(self._balloon)
        self.rebuild()
        self.update_icon()
        if app.tray_available:
            self.icon.show()

    # --- icon and tooltip -------------------------------------------------------------------------
    def update_icon(self) -> None:
        status = self.app.status()
        state = status if status in icons.TRAY_STATES else "stopped"
        self.icon.setIcon(icons.tray_icon(state))
        self.icon.setToolTip(self.tooltip())

    def tooltip(self) -> str:
        lines = ["Switchboard — " + self.app.summary()]
        url = self.app.snapshot.url
        if url:
            lines.append(url)
        elif self.app.last_error:
            lines.append(self.app.last_error)
        return "\n".join(lines)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.app.show_panel()

    def _balloon(self, level: str, sentence: str, topic: str) -> None:
        # Errors surface even with the panel closed; routine confirmations stay quiet.
        if level == "error" and self.icon.isVisible() and not self.app.panel.isVisible():
            self.icon.showMessage("Switchboard", sentence, QSystemTrayIcon.MessageIcon.Warning, 8000)

    # --- menu -------------------------------------------------------------------------------------
    def _add(self, text: str, name: str, slot: object = None, *, enabled: bool = True) -> QAction:
        action = self.menu.addAction(text)
        action.setObjectName(name)
        action.setEnabled(enabled)
        if slot is not None:
            action.triggered.connect(slot)
        return action

    def rebuild(self) -> None:
        """Recreate every item from the state right now (called each time the menu opens)."""
        app = self.app
        self.menu.clear()
        status = app.status()
        header = self._add(app.summary(), "status", enabled=False)
        header.setIcon(style.dot(status))
        if app.last_error and status == "stopped":
            self._add(app.last_error, "error", enabled=False)
        self.menu.addSeparator()
        snapshot = app.snapshot
        if snapshot.state in ("running", "starting"):
            self._add("Stop gateway", "stop", lambda: app.stop(), enabled=snapshot.state == "running")
        else:
            self._add("Start gateway", "start", lambda: app.start(), enabled=snapshot.state == "stopped")
        self._add("Copy connection URL", "copy_url", app.copy_url, enabled=snapshot.url is not None)
        self._add("Copy API key", "copy_key", app.copy_key)
        self.menu.addSeparator()
        self._servers_menu()
        self._add("Open control panel…", "open_panel", app.show_panel)
        self.menu.addSeparator()
        self._add("Quit Switchboard", "quit", app.request_quit)

    def _servers_menu(self) -> None:
        app = self.app
        submenu = self.menu.addMenu("Servers")
        submenu.menuAction().setObjectName("servers")
        rows = app.servers.rows
        if not rows:
            empty = submenu.addAction("No servers yet — add one in the config file")
            empty.setEnabled(False)
            return
        running = app.snapshot.state == "running"
        for row in rows:
            action = submenu.addAction(f"{row.name}  —  {row.state_text()}")
            action.setObjectName(f"server:{row.name}")
            action.setCheckable(True)
            action.setChecked(row.enabled)
            action.setIcon(style.dot(row.state))
            action.setEnabled(running)
            action.triggered.connect(lambda checked, name=row.name: app.set_enabled(name, checked))

    def action(self, name: str) -> QAction | None:
        """Find a menu item by its object name (as tests and accessibility tools do)."""
        for action in self.menu.actions():
            if action.objectName() == name:
                return action
            sub = action.menu()
            if isinstance(sub, QMenu):
                for inner in sub.actions():
                    if inner.objectName() == name:
                        return inner
        return None

    def hide(self) -> None:
        self.icon.hide()
