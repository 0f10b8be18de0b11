"""The tray icon: its picture shows the gateway's state, and its menu is rebuilt from live state on every open."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.gateway import PendingApproval
from app.ui import icons, style

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp

APPROVAL_MESSAGE_MS = 20000


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
        app.approvals.requested.connect(self.ask)
        app.sign_ins.needed.connect(self.ask_sign_in)
        self.icon.messageClicked.connect(self._message_clicked)
        self.last_asked: str | None = None
        self.last_sign_in: str | None = None  # the server the last message asked to sign in to
        self.messages: list[tuple[str, str]] = []  # (title, text) of each message shown, for tests
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

    def _message_clicked(self) -> None:
        if self.last_sign_in is not None:
            self.app.panel.show_servers_tab(self.last_sign_in)
        else:
            self.app.panel.show_approvals_tab(self.last_asked)

    def _show(self, title: str, text: str, ms: int) -> None:
        self.messages.append((title, text))
        if self.icon.isVisible():
            self.icon.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, ms)

    def ask_sign_in(self, server: str, sentence: str) -> None:
        """A remote server waits for the user to sign in: say so even with the panel closed."""
        self.last_sign_in = server
        self._show(f"Switchboard: sign in to {server}", f"{sentence} Click here, or use Sign in in this icon's "
                   "Servers menu.", APPROVAL_MESSAGE_MS)

    def ask(self, approval: PendingApproval) -> None:
        """A call waits for approval: say so even with the panel closed. Qt's tray messages have no buttons;
        the answers are in this icon's menu (every platform) and the panel's Approvals tab (a click here)."""
        self.last_asked = approval.id
        self.last_sign_in = None
        self._show(
            "Switchboard: approve a tool call?",
            f"{approval.client_name or 'A client'} wants to run {approval.tool} on {approval.server}. "
            "Approve or deny it from this icon's menu, or click here.",
            APPROVAL_MESSAGE_MS,
        )

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
        self._approvals_menu()
        self._servers_menu()
        self._add("Open control panel…", "open_panel", app.show_panel)
        self.menu.addSeparator()
        self._add("Quit Switchboard", "quit", app.request_quit)

    def _approvals_menu(self) -> None:
        pending = self.app.snapshot.approvals
        if not pending:
            return
        count = len(pending)
        submenu = self.menu.addMenu(f"{count} call{'s' if count != 1 else ''} waiting for approval")
        submenu.menuAction().setObjectName("approvals")
        for approval in pending:
            item = submenu.addMenu(f"{approval.tool} from {approval.client_name or 'a client'}")
            for label, answer in (("Approve", "approve"), ("Deny", "deny")):
                action = item.addAction(label)
                action.setObjectName(f"{answer}:{approval.id}")
                action.triggered.connect(lambda _c=False, i=approval.id, a=answer: self.app.approvals.answer(i, a))
        submenu.addSeparator()
        show = submenu.addAction("Show in the panel…")
        show.triggered.connect(lambda: self.app.panel.show_approvals_tab())

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
        waiting = [row for row in rows if row.state == "needs sign-in"]
        if waiting:
            submenu.addSeparator()
        for row in waiting:
            sign_in = submenu.addAction(f"Sign in to {row.name}…")
            sign_in.setObjectName(f"sign_in:{row.name}")
            sign_in.setEnabled(running and row.name not in app.sign_ins.in_progress)
            sign_in.triggered.connect(lambda _c=False, name=row.name: app.sign_ins.sign_in(name))

    def action(self, name: str) -> QAction | None:
        """Find a menu item by its object name (as tests and accessibility tools do)."""
        for action in self.menu.actions():
            if action.objectName() == name:
                return action
            found = _find(action, name)
            if found is not None:
                return found
        return None

    def hide(self) -> None:
        self.icon.hide()


def _find(action: QAction, name: str) -> QAction | None:
    """`action`'s submenu items, at any depth, by object name."""
    sub = action.menu()
    if not isinstance(sub, QMenu):
        return None
    for inner in sub.actions():
        if inner.objectName() == name:
            return inner
        found = _find(inner, name)
        if found is not None:
            return found
    return None
