"""Clients tab: who is connected right now, live."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.ui.widgets import EmptyOr, set_widths, table

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp

EMPTY = (
    "No clients connected.\n"
    "Point your AI client (Claude, Cursor, VS Code, …) at the connection URL in Settings,\n"
    "with the API key; it shows up here as soon as it connects."
)


class ClientsTab(QWidget):
    def __init__(self, app: DesktopApp) -> None:
        super().__init__()
        self.app = app
        self.view = table(app.clients, stretch=0)
        set_widths(self.view, {1: 80, 2: 140, 3: 100, 4: 130, 5: 110, 6: 70})
        self.page = EmptyOr(app.clients, self.view, EMPTY)
        hint = QLabel("Clients identify themselves when they connect; the key column names the API key they used.")
        hint.setObjectName("muted")
        layout = QVBoxLayout(self)
        layout.addWidget(self.page, 1)
        layout.addWidget(hint)
