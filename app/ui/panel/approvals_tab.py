"""Approvals tab: the calls waiting for someone to approve them (their policy is `ask`), oldest first, with
Approve, Deny and "Always allow this tool for this client". Each answer applies to that one call; "always"
also writes the policy (the key's own, or for the main key the server's `tools` map)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.gateway import PendingApproval
from app.ui.widgets import EmptyOr, set_widths, table

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp

Index = QModelIndex | QPersistentModelIndex
EMPTY = (
    "No call waits for approval.\nCalls to tools whose policy is \"ask\" (by default: tools that say they are "
    "destructive) wait here until you answer, or are refused after gateway.approval_timeout_s."
)
ARGUMENTS_SHOWN = 120


def waited(approval: PendingApproval, now: float | None = None) -> str:
    seconds = max(0, round((now or time.time()) - approval.asked_at))
    return f"{seconds} s of {approval.timeout_s:g}"


def arguments_text(approval: PendingApproval) -> str:
    """Already masked and shortened by the gateway; one line here."""
    text = json.dumps(approval.arguments, ensure_ascii=False)
    return text if len(text) <= ARGUMENTS_SHOWN else text[: ARGUMENTS_SHOWN - 1] + "…"


class ApprovalsModel(QAbstractTableModel):
    HEADERS = ("Waiting", "Client", "Key", "Server", "Tool", "Arguments")

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[PendingApproval] = []

    def set_rows(self, rows: tuple[PendingApproval, ...]) -> None:
        if [r.id for r in rows] != [r.id for r in self.rows]:
            self.beginResetModel()
            self.rows = list(rows)
            self.endResetModel()

    def tick(self) -> None:
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, 0))

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            values = (waited(row), row.client_name or "—", row.key_name, row.server, row.tool, arguments_text(row))
            return values[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.tool} asks because of {row.reason}.\nswitchboard approve {row.id}"
        return None


class ApprovalsTab(QWidget):
    def __init__(self, app: DesktopApp) -> None:
        super().__init__()
        self.app = app
        self.model = ApprovalsModel()
        self.view = table(self.model)
        set_widths(self.view, {0: 90, 1: 140, 2: 90, 3: 110, 4: 190})
        self.page = EmptyOr(self.model, self.view, EMPTY)
        self.approve = QPushButton("Approve")
        self.approve.setObjectName("approve")
        self.deny = QPushButton("Deny")
        self.deny.setObjectName("deny")
        self.always = QPushButton("Always allow this tool for this client")
        self.always.setObjectName("always")
        self.approve.clicked.connect(lambda: self._answer("approve"))
        self.deny.clicked.connect(lambda: self._answer("deny"))
        self.always.clicked.connect(lambda: self._answer("always"))
        self.detail = QLabel()
        self.detail.setObjectName("muted")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        for button in (self.approve, self.deny, self.always):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.page, 1)
        layout.addWidget(self.detail)
        layout.addLayout(buttons)
        self.view.selectionModel().selectionChanged.connect(self._selected)
        self.model.modelReset.connect(self._select_first)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self.model.tick)
        self._clock.start()
        app.status_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.model.set_rows(self.app.snapshot.approvals)
        self._selected()

    def _select_first(self) -> None:
        if self.model.rows and not self.view.selectionModel().selectedRows():
            self.view.selectRow(0)

    def selected(self) -> PendingApproval | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()] if rows and rows[0].row() < len(self.model.rows) else None

    def select(self, approval_id: str) -> None:
        for i, row in enumerate(self.model.rows):
            if row.id == approval_id:
                self.view.selectRow(i)

    def _selected(self, *args: object) -> None:
        approval = self.selected()
        for button in (self.approve, self.deny, self.always):
            button.setEnabled(approval is not None)
        if approval is None:
            self.detail.setText("")
            return
        always = "writes an allow policy for this key"
        if approval.key_name == "main":
            always = "writes an allow policy for this tool in the server's entry (every main-key client)"
        self.detail.setText(
            f"{approval.client_name or 'A client'} (key {approval.key_name}) wants to run {approval.tool} on "
            f"{approval.server}. It asks because of {approval.reason}. Approve or Deny answer this call only; "
            f"Always {always}. From a terminal: switchboard approve {approval.id}"
        )

    def _answer(self, answer: str) -> None:
        approval = self.selected()
        if approval is not None:
            self.app.approvals.answer(approval.id, answer)
