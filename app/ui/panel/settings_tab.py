"""Settings tab: connection URL, the API key (hidden by default; show, copy, rotate), address, launch at
login, files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.ui.panel.call_settings import CallSettings

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp

ROTATE_QUESTION = (
    "Make a new API key now?\n\n"
    "The current key stops working at once. Every client that uses it must be given the new key."
)


def _row(*widgets: QWidget, stretch_first: bool = True) -> QHBoxLayout:
    layout = QHBoxLayout()
    for i, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if stretch_first and i == 0 else 0)
    return layout


LABEL_WIDTH = 44


class _Group(QGroupBox):
    """A titled box of labelled rows and notes, aligned on one label column."""

    def __init__(self, title: str) -> None:
        super().__init__(title)
        self.rows = QVBoxLayout(self)
        self.rows.setSpacing(6)

    def add(self, label: str, row: QHBoxLayout | QWidget) -> None:
        line = QHBoxLayout()
        name = QLabel(label)
        name.setFixedWidth(LABEL_WIDTH)
        line.addWidget(name)
        if isinstance(row, QWidget):
            line.addWidget(row, 1)
        else:
            line.addLayout(row, 1)
        self.rows.addLayout(line)

    def note(self, label: QLabel) -> None:
        label.setContentsMargins(LABEL_WIDTH + 6, 0, 0, 0)
        self.rows.addWidget(label)


def _muted(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("muted")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class SettingsTab(QWidget):
    def __init__(self, app: DesktopApp) -> None:
        super().__init__()
        self.app = app
        # Scrolls rather than squeezes: at the panel's minimum size (or with a long sentence under a
        # setting) the groups do not fit, and squeezed line edits become unreadable.
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        scroll.setWidget(body)
        outer.addWidget(scroll)
        layout = QVBoxLayout(body)
        layout.addWidget(self._connection())
        layout.addWidget(self._key())
        layout.addWidget(self._address())
        self.calls = CallSettings(app)
        layout.addWidget(self.calls)
        layout.addWidget(self._startup())
        layout.addWidget(self._files())
        layout.addStretch(1)
        app.status_changed.connect(self.update_connection)
        app.key_changed.connect(self.update_key)
        app.login.changed.connect(self.update_startup)
        self.update_connection()
        self.update_key()
        self.update_startup()

    def showEvent(self, event: QShowEvent) -> None:
        # Read afresh each time the tab is shown: `switchboard autostart off` in a terminal, or the
        # desktop's own startup settings, may have changed it since.
        super().showEvent(event)
        if not self.app.login.busy:
            self.app.login.load()

    # --- connection -------------------------------------------------------------------------------
    def _connection(self) -> _Group:
        box = _Group("Connection")
        self.url = QLineEdit()
        self.url.setReadOnly(True)
        copy = QPushButton("Copy")
        copy.clicked.connect(self.app.copy_url)
        self.copy_url_button = copy
        self.sse = _muted()
        box.add("URL:", _row(self.url, copy))
        box.note(self.sse)
        return box

    def update_connection(self) -> None:
        snapshot = self.app.snapshot
        self.url.setText(snapshot.url or "")
        self.url.setPlaceholderText("The gateway is stopped — start it from the tray or the button above.")
        self.copy_url_button.setEnabled(snapshot.url is not None)
        self.sse.setText(
            f"Streamable HTTP. Clients that only speak the older SSE transport use {snapshot.base_url}/sse"
            if snapshot.base_url else ""
        )
        self.sse.setVisible(snapshot.base_url is not None)
        if not self.port.hasFocus() and not self.host.hasFocus():
            settings = snapshot.loaded.config.gateway
            self.host.setText(settings.host)
            self.port.setValue(settings.port)

    # --- API key ----------------------------------------------------------------------------------
    def _key(self) -> _Group:
        box = _Group("API key")
        self.key = QLineEdit()
        self.key.setReadOnly(True)
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_key = QPushButton("Show")
        self.show_key.setCheckable(True)
        self.show_key.toggled.connect(self._show_key)
        self.copy_key = QPushButton("Copy")
        self.copy_key.clicked.connect(self.app.copy_key)
        self.rotate = QPushButton("Rotate…")
        self.rotate.clicked.connect(self.confirm_rotate)
        self.key_where = _muted()
        box.add("Key:", _row(self.key, self.show_key, self.copy_key, self.rotate))
        box.note(self.key_where)
        return box

    def _show_key(self, shown: bool) -> None:
        self.key.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.show_key.setText("Hide" if shown else "Show")

    def update_key(self) -> None:
        info = self.app.key
        for widget in (self.show_key, self.copy_key, self.rotate):
            widget.setEnabled(info is not None)
        if info is None:
            self.key.setPlaceholderText("Reading the key…")
            self.key_where.setText(self.app.key_error or "")
        else:
            self.key.setText(info.value)
            self.key_where.setText(info.where)

    def confirm_rotate(self) -> QMessageBox:
        """Asks first (non-modal, so the gateway keeps serving); rotates on Yes."""
        box = QMessageBox(QMessageBox.Icon.Question, "Rotate API key", ROTATE_QUESTION, parent=self)
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText("Rotate key")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda result: self._rotate_answer(box))
        box.open()
        self.rotate_box = box
        return box

    def _rotate_answer(self, box: QMessageBox) -> None:
        if box.clickedButton() is box.button(QMessageBox.StandardButton.Yes):
            self.app.rotate_key()

    # --- address ----------------------------------------------------------------------------------
    def _address(self) -> _Group:
        box = _Group("Address")
        self.host = QLineEdit()
        self.host.setFixedWidth(200)
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText("any free port")
        self.port.setFixedWidth(140)
        apply = QPushButton("Save and restart gateway")
        apply.clicked.connect(lambda: self.app.set_address(self.host.text().strip(), self.port.value()))
        self.apply_address = apply
        host_row = _row(self.host, stretch_first=False)
        host_row.addStretch(1)
        box.add("Host:", host_row)
        port_row = _row(self.port, apply, stretch_first=False)
        port_row.addStretch(1)
        box.add("Port:", port_row)
        box.note(_muted(
            "Saved to the config file and applied when the gateway restarts; connected clients then "
            "reconnect at the new URL."
        ))
        return box

    # --- launch at login ----------------------------------------------------------------------------
    def _startup(self) -> _Group:
        box = _Group("Startup")
        self.launch_at_login = QCheckBox("Launch at login")
        # clicked, not toggled: only the user's click writes to the OS, never showing what was read.
        self.launch_at_login.clicked.connect(self.app.login.set)
        self.startup_detail = _muted()
        box.rows.addWidget(self.launch_at_login)
        box.rows.addWidget(self.startup_detail)
        return box

    def update_startup(self) -> None:
        state = self.app.login.state
        self.launch_at_login.setEnabled(state is not None and not self.app.login.busy)
        if state is None:
            self.startup_detail.setText("Checking whether Switchboard starts at login…")
            return
        self.launch_at_login.setChecked(state.enabled)
        where = "" if state.where in state.detail else f"\n{state.where}"
        self.startup_detail.setText(state.detail + where)

    # --- files ------------------------------------------------------------------------------------
    def _files(self) -> _Group:
        box = _Group("Files")
        config_path = self.app.snapshot.config_path
        buttons = []
        for label, target in (
            ("Open config file", config_path),
            ("Open config folder", config_path.parent),
            ("Open log folder", self.app.services.log_dir),
        ):
            button = QPushButton(label)
            button.clicked.connect(lambda checked=False, t=target: self._open(t))
            buttons.append(button)
        files_row = _row(*buttons, stretch_first=False)
        files_row.addStretch(1)
        box.rows.addLayout(files_row)
        box.rows.addWidget(_muted(
            f"Config: {config_path}\nActivity keeps the last "
            f"{self.app.snapshot.loaded.config.gateway.activity_size:,} calls (gateway.activity_size)."
        ))
        return box

    def _open(self, target: object) -> None:
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(target))):
            self.app.report("warning", f"Could not open {target}: no program is set up to open it.")
