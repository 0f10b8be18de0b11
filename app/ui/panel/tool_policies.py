"""The Servers tab's per-tool policy editor: each tool of the selected server, the policy in force and why,
and a choice that writes `mcpServers.SERVER.tools.TOOL.policy` (or removes it: "default")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QHeaderView, QTableWidget, QTableWidgetItem

from app.gateway import POLICIES, ToolPolicy

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp

DEFAULT = "default"
HEADERS = ("Tool", "Says it is", "Policy", "In force now, because of")


class ToolPolicyEditor(QTableWidget):
    def __init__(self, app: DesktopApp) -> None:
        super().__init__(0, len(HEADERS))
        self.app = app
        self.server: str | None = None
        self.shown: tuple[ToolPolicy, ...] = ()
        self.setHorizontalHeaderLabels(HEADERS)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(30)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        header = self.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(0, 200)
        self.setColumnWidth(1, 90)
        self.setColumnWidth(2, 110)

    def show_tools(self, server: str, tools: tuple[ToolPolicy, ...]) -> None:
        """Rebuild only when something changed: a choice being made is never reset under the user."""
        if server == self.server and tools == self.shown:
            return
        self.server, self.shown = server, tools
        self.setRowCount(len(tools))
        for row, tool in enumerate(tools):
            self.setItem(row, 0, QTableWidgetItem(tool.tool))
            self.setItem(row, 1, QTableWidgetItem(tool.hints))
            choice = QComboBox()
            choice.setObjectName(f"policy:{tool.tool}")
            choice.addItem(DEFAULT, None)
            for policy in POLICIES:
                choice.addItem(policy, policy)
            choice.setCurrentIndex(choice.findData(tool.configured) if tool.configured else 0)
            choice.currentIndexChanged.connect(lambda _i, t=tool.tool, c=choice: self._chosen(t, c.currentData()))
            self.setCellWidget(row, 2, choice)
            why = QTableWidgetItem(f"{tool.policy} — {tool.source}")
            why.setToolTip(why.text())
            self.setItem(row, 3, why)

    def choice(self, tool: str) -> QComboBox | None:
        for row, shown in enumerate(self.shown):
            if shown.tool == tool:
                widget = self.cellWidget(row, 2)
                return widget if isinstance(widget, QComboBox) else None
        return None

    def _chosen(self, tool: str, policy: str | None) -> None:
        if self.server is not None:
            self.app.approvals.set_tool_policy(self.server, tool, policy)
