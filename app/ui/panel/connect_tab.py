"""Connect tab: every AI client Switchboard knows, its state, and one button to connect it or bring its servers in.

The rows show `app.connections.states` (read off the Qt thread by DesktopApp); every button calls a DesktopApp
action, which works off the Qt thread and reports a sentence through the panel's notice line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.connect import ClientState
from app.platform.clients import CLIENTS
from app.ui import style

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp

HINT = (
    "Connect writes one \"switchboard\" entry into the client's own config file (a URL with a key of its own, "
    "or the stdio bridge for Claude Desktop) and keeps a backup of the file; Disconnect takes out only that "
    "entry and revokes its key. Import copies the client's own servers into Switchboard; the client's file "
    "stays as it is."
)


PATH_CHARS = 58


def short_path(text: str, limit: int = PATH_CHARS) -> str:
    """A long path with its middle left out (Cline's lives deep in VS Code's folder); the tooltip has it all."""
    if len(text) <= limit:
        return text
    head = limit // 2 - 2
    return text[:head] + "…" + text[-(limit - head - 1):]


def _label(text: str = "", name: str = "", wrap: bool = False) -> QLabel:
    label = QLabel(text)
    if name:
        label.setObjectName(name)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ClientRow:
    """The widgets of one client's row in the grid (a title line, a state line, two buttons, a note below)."""

    def __init__(self, tab: ConnectTab, client_id: str, grid: QGridLayout, row: int) -> None:
        self.tab, self.id = tab, client_id
        writer = CLIENTS[client_id]
        self.title = _label(writer.title)
        self.title.setStyleSheet("font-weight: 600;")
        self.path = _label("", "muted")
        self.dot = QLabel()
        self.state = _label()
        self.found = _label("", "muted")
        self.toggle = QPushButton("Connect")
        self.toggle.setMinimumWidth(110)
        self.toggle.clicked.connect(self._toggle)
        self.importer = QPushButton("Import its servers")
        self.importer.setMinimumWidth(150)
        self.importer.clicked.connect(self._import)
        self.note = _label("", wrap=True)
        self.note.hide()

        name = QVBoxLayout()
        name.setSpacing(0)
        name.addWidget(self.title)
        name.addWidget(self.path)
        state_line = QHBoxLayout()
        state_line.setSpacing(6)
        state_line.addWidget(self.dot)
        state_line.addWidget(self.state, 1)
        state = QVBoxLayout()
        state.setSpacing(0)
        state.addLayout(state_line)
        state.addWidget(self.found)
        grid.addLayout(name, row, 0)
        grid.addLayout(state, row, 1)
        grid.addWidget(self.toggle, row, 2)
        grid.addWidget(self.importer, row, 3)
        grid.addWidget(self.note, row + 1, 0, 1, 4)

    def _toggle(self) -> None:
        state = self.tab.state_of(self.id)
        self.set_busy()
        if state is not None and state.connected:
            self.tab.app.connections.disconnect(self.id)
        else:
            self.tab.app.connections.connect(self.id)

    def _import(self) -> None:
        self.set_busy()
        self.tab.app.connections.import_servers([self.id])

    def set_busy(self) -> None:
        self.toggle.setEnabled(False)
        self.importer.setEnabled(False)

    def show(self, s: ClientState | None) -> None:
        if s is None:
            self.state.setText("Reading its config file…")
            self.set_busy()
            return
        self.path.setText(short_path(s.shown_path))
        self.path.setToolTip(str(s.path))
        self.found.setText(s.found if s.installed else "Not found on this machine")
        self.found.setToolTip(s.found)
        note = ""
        if s.state == "file problem":
            colour, text = "failed", "File problem"
            note = s.problem or ""
        elif s.connected:
            how = "through the stdio bridge"
            if s.via == "http":
                how = f"over HTTP, key '{s.key_name}'" if s.key_name else "over HTTP"
            colour, text = ("backoff", "Connected, out of date") if s.outdated else ("running", f"Connected {how}")
            note = f"{s.title}: {s.outdated}." if s.outdated else ""
        elif s.installed:
            colour, text = "stopped", "Installed, not connected"
        else:
            colour, text = "disabled", "Not connected"
        self.dot.setPixmap(style.dot(colour, 12).pixmap(12, 12))
        self.state.setText(text)
        self.note.setText(note)
        self.note.setStyleSheet(f"color: {style.RED if s.state == 'file problem' else style.AMBER};")
        self.note.setVisible(bool(note))
        problem = s.state == "file problem"
        self.toggle.setText("Disconnect" if s.connected else "Connect")
        self.toggle.setEnabled(not problem)
        self.toggle.setToolTip(s.restart_note or f"{s.title} picks up the change by itself.")
        count = len(s.new_servers)
        self.importer.setText(f"Import {count} server{'s' if count != 1 else ''}" if count else "Import its servers")
        self.importer.setEnabled(count > 0 and not problem)
        self.importer.setToolTip(
            ", ".join(s.new_servers) if count else "It has no servers that Switchboard does not have already."
        )


class ConnectTab(QWidget):
    def __init__(self, app: DesktopApp) -> None:
        super().__init__()
        self.app = app

        self.offer = QFrame()
        self.offer.setObjectName("notice")
        self.offer.setProperty("level", "info")
        self.offer_text = _label("", wrap=True)
        self.offer_import = QPushButton("Import them")
        self.offer_import.clicked.connect(self._accept_offer)
        self.offer_later = QPushButton("Not now")
        self.offer_later.clicked.connect(app.connections.decline_offer)
        offer_layout = QHBoxLayout(self.offer)
        offer_layout.addWidget(self.offer_text, 1)
        offer_layout.addWidget(self.offer_import)
        offer_layout.addWidget(self.offer_later)
        self.offer.hide()

        body = QWidget()
        self.grid = QGridLayout(body)
        self.grid.setHorizontalSpacing(14)
        self.grid.setVerticalSpacing(6)
        self.grid.setColumnStretch(1, 1)
        self.rows: dict[str, ClientRow] = {}
        for i, client_id in enumerate(CLIENTS):
            self.rows[client_id] = ClientRow(self, client_id, self.grid, 2 * i)
        self.grid.setRowStretch(2 * len(CLIENTS), 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)

        self.refresh = QPushButton("Refresh")
        self.refresh.clicked.connect(app.connections.refresh)
        self.copy_snippet = QPushButton("Copy the config snippet")
        self.copy_snippet.setToolTip("Switchboard's URL and API key as the common mcpServers JSON")
        self.copy_snippet.clicked.connect(app.connections.copy_snippet)
        other = QHBoxLayout()
        other.addWidget(_label("Another client?"))
        other.addWidget(self.copy_snippet)
        other.addStretch(1)
        other.addWidget(self.refresh)

        layout = QVBoxLayout(self)
        layout.addWidget(self.offer)
        layout.addWidget(scroll, 1)
        layout.addLayout(other)
        layout.addWidget(_label(HINT, "muted", wrap=True))
        app.connections.changed.connect(self.update_rows)
        self.update_rows()

    def state_of(self, client_id: str) -> ClientState | None:
        return next((s for s in self.app.connections.states if s.id == client_id), None)

    def update_rows(self) -> None:
        for client_id, row in self.rows.items():
            row.show(self.state_of(client_id))
        offer = self.app.connections.offer
        if offer:
            names = [f"{s.title} ({len(s.new_servers)})" for s in offer]
            listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            one = len(offer) == 1
            self.offer_text.setText(
                f"{listed} already {'has' if one else 'have'} MCP servers of {'its' if one else 'their'} own. "
                "Import them into Switchboard, so every client you connect gets all of them? "
                "The clients' files stay as they are."
            )
        self.offer.setVisible(bool(offer))

    def _accept_offer(self) -> None:
        self.app.connections.import_servers([s.id for s in self.app.connections.offer])
