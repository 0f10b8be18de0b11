"""The control panel: a status header, a notice line, and the Servers, Clients, Activity, Settings, Connect and
Approvals tabs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui import icons, style
from app.ui.panel.activity_tab import ActivityTab
from app.ui.panel.approvals_tab import ApprovalsTab
from app.ui.panel.clients_tab import ClientsTab
from app.ui.panel.connect_tab import ConnectTab
from app.ui.panel.servers_tab import ServersTab
from app.ui.panel.settings_tab import SettingsTab
from app.ui.widgets import Notice

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp

INFO_MS = 8000
NO_TRAY = (
    "Your desktop has no system tray, so Switchboard lives in this window. "
    "Closing it quits Switchboard and stops the gateway."
)


class ControlPanel(QMainWindow):
    def __init__(self, app: DesktopApp) -> None:
        super().__init__()
        self.app = app
        self.setWindowTitle("Switchboard")
        self.setWindowIcon(icons.app_icon())
        self.resize(1000, 640)
        self.setMinimumSize(720, 460)
        self.setStyleSheet(style.PANEL_CSS)

        self.dot = QLabel()
        self.summary = QLabel()
        self.summary.setObjectName("heading")
        self.url = QLabel()
        self.url.setObjectName("muted")
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.url.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # the summary wins space
        self.start_stop = QPushButton()
        self.start_stop.setMinimumWidth(130)
        self.start_stop.clicked.connect(self._start_stop)
        header = QHBoxLayout()
        header.addWidget(self.dot)
        header.addWidget(self.summary)
        header.addSpacing(12)
        header.addWidget(self.url, 1)
        header.addWidget(self.start_stop)

        self.no_tray = Notice()
        if not app.tray_available:
            self.no_tray.show_text("info", NO_TRAY)
        self.config_banner = Notice(dismissable=False)  # stays while the config file is broken
        self.notice = Notice()
        self.notice_topic = ""
        app.notice.connect(self._notice)
        app.resolved.connect(self._resolved)

        self.tabs = QTabWidget()
        self.servers_tab = ServersTab(app)
        self.clients_tab = ClientsTab(app)
        self.activity_tab = ActivityTab(app)
        self.settings_tab = SettingsTab(app)
        self.tabs.addTab(self.servers_tab, "Servers")
        self.tabs.addTab(self.clients_tab, "Clients")
        self.tabs.addTab(self.activity_tab, "Activity")
        self.tabs.addTab(self.settings_tab, "Settings")
        self.connect_tab = ConnectTab(app)
        self.tabs.addTab(self.connect_tab, "Connect")
        self.approvals_tab = ApprovalsTab(app)  # last: tests and habits know the other tabs by position
        self.tabs.addTab(self.approvals_tab, "Approvals")
        self.tabs.currentChanged.connect(self._tab_shown)

        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(14, 12, 14, 10)
        layout.addLayout(header)
        layout.addWidget(self.no_tray)
        layout.addWidget(self.config_banner)
        layout.addWidget(self.notice)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(body)
        QShortcut(QKeySequence.StandardKey.Close, self, self.close)
        QShortcut(QKeySequence.StandardKey.Quit, self, app.request_quit)

        app.status_changed.connect(self.update_header)
        app.servers.modelReset.connect(self._tab_titles)
        app.clients.modelReset.connect(self._tab_titles)
        self.update_header()

    def update_header(self) -> None:
        status = self.app.status()
        self.dot.setPixmap(style.dot(status, 14).pixmap(14, 14))
        self.summary.setText(self.app.summary())
        snapshot = self.app.snapshot
        self.url.setText(snapshot.url or "")
        self.start_stop.setText("Stop gateway" if snapshot.state in ("running", "starting") else "Start gateway")
        self.start_stop.setEnabled(snapshot.state in ("running", "stopped"))
        if snapshot.config_error:
            self.config_banner.show_text("error", snapshot.config_error)
        else:
            self.config_banner.hide()
        self._tab_titles()

    def _tab_titles(self) -> None:
        clients = len(self.app.clients.rows)
        self.tabs.setTabText(1, f"Clients ({clients})" if clients else "Clients")
        waiting = len(self.app.snapshot.approvals)
        title = f"Approvals ({waiting})" if waiting else "Approvals"
        self.tabs.setTabText(self.tabs.indexOf(self.approvals_tab), title)

    def _start_stop(self) -> None:
        if self.app.snapshot.state == "running":
            self.app.stop()
        else:
            self.app.start()

    def _notice(self, level: str, sentence: str, topic: str) -> None:
        # Errors and warnings stay until dismissed, replaced or resolved; confirmations do not hide them
        # and fade. "done" says a problem is over (the gateway started after all): it replaces that problem.
        problem = self.notice.isVisible() and self.notice.level in ("error", "warning")
        if level == "done":
            if problem:
                self.notice.show_text("info", sentence, fade_ms=INFO_MS)
                self.notice_topic = ""
            return
        if level == "info":
            if not problem:
                self.notice.show_text("info", sentence, fade_ms=INFO_MS)
                self.notice_topic = ""
            return
        self.notice.show_text(level, sentence)
        self.notice_topic = topic

    def _resolved(self, topic: str) -> None:
        """The problem the banner shows is over (its server runs again): the banner goes away."""
        if topic and topic == self.notice_topic and self.notice.isVisible():
            self.notice.hide()
            self.notice_topic = ""

    def _tab_shown(self, index: int) -> None:
        if self.tabs.widget(index) is self.connect_tab:
            self.app.connections.refresh()  # the clients' files may have changed since: read them again

    def show_approvals_tab(self, approval_id: str | None = None) -> None:
        self.show_panel()
        self.tabs.setCurrentWidget(self.approvals_tab)
        if approval_id:
            self.approvals_tab.select(approval_id)

    def show_servers_tab(self, server: str | None = None) -> None:
        self.show_panel()
        self.tabs.setCurrentWidget(self.servers_tab)
        if server:
            self.servers_tab.select(server)

    def show_connect_tab(self) -> None:
        self.show_panel()
        self.tabs.setCurrentWidget(self.connect_tab)

    def show_panel(self) -> None:
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.app.tray_available and not self.app.quitting:
            self.app.request_quit()  # no tray to come back from: closing is quitting
        event.accept()
