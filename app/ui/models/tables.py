"""Qt table models for children and clients, refreshed from the gateway's latest snapshot.

The gateway runs on another thread; these models never read it, only the immutable snapshot
taken on its thread (app.ui.host.snapshot), and only when that snapshot is a new one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from app.ui import style, text
from app.ui.host.snapshot import ClientRow, GatewaySnapshot, ServerRow

Index = QModelIndex | QPersistentModelIndex
CENTER = int(Qt.AlignmentFlag.AlignCenter)
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class _SnapshotModel(QAbstractTableModel):
    """Rows are immutable snapshots; `refresh()` diffs them and signals only what changed."""

    HEADERS: tuple[str, ...] = ()

    def __init__(self, source: Callable[[], GatewaySnapshot]) -> None:
        super().__init__()
        self.source = source
        self.rows: list[Any] = []
        self.version: int | None = None

    def rows_of(self, snapshot: GatewaySnapshot) -> list[Any]:
        raise NotImplementedError

    def key(self, row: Any) -> str:
        raise NotImplementedError

    def take(self, events: list[Any]) -> None:
        """A batch arrived: follow the snapshot if it is a new one (events alone change nothing here)."""
        self.refresh()

    def refresh(self, *, force: bool = False) -> None:
        snapshot = self.source()
        if snapshot.version == self.version and not force:
            return
        self.version = snapshot.version
        new = self.rows_of(snapshot)
        if [self.key(r) for r in new] != [self.key(r) for r in self.rows]:
            self.beginResetModel()
            self.rows = new
            self.endResetModel()
            return
        old, self.rows = self.rows, new
        last = self.columnCount() - 1
        for i, (before, after) in enumerate(zip(old, new, strict=True)):
            if before != after:
                self.dataChanged.emit(self.index(i, 0), self.index(i, last))

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return self.alignment(section)
        return None

    def alignment(self, column: int) -> int:
        return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


class ServersModel(_SnapshotModel):
    HEADERS = ("Server", "Kind", "State", "Tools", "Prompts", "Resources", "Calls", "Last error")
    NUMERIC = (3, 4, 5, 6)
    toggle_requested = Signal(str, bool)

    def rows_of(self, snapshot: GatewaySnapshot) -> list[ServerRow]:
        return list(snapshot.servers)

    def key(self, row: ServerRow) -> str:
        return row.name

    def alignment(self, column: int) -> int:
        return RIGHT if column in self.NUMERIC else super().alignment(column)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row: ServerRow = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                row.name, row.kind, row.state_text(), row.tools, row.prompts, row.resources, row.calls,
                row.error.splitlines()[0] if row.error else "",
            )[col]
        if role == Qt.ItemDataRole.CheckStateRole and col == 0:
            return Qt.CheckState.Checked if row.enabled else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 2:
                return style.colour(row.state)
            if col == 7:
                return style.colour("failed")
            if not row.enabled:
                return style.colour("disabled")
        if role == Qt.ItemDataRole.DecorationRole and col == 2:
            return style.dot(row.state)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self.alignment(col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 0:
                return f"{row.target}\nTick to enable, untick to disable (saved to the config file)."
            if col == 7 and row.error:
                return row.error
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsUserCheckable if index.column() == 0 else flags

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0:
            return False
        enabled = Qt.CheckState(value) == Qt.CheckState.Checked
        # The gateway applies it (config write off the loop); the row follows on the next event batch.
        self.toggle_requested.emit(self.rows[index.row()].name, enabled)
        return True

    def row_named(self, name: str) -> int:
        return next((i for i, r in enumerate(self.rows) if r.name == name), -1)


class ClientsModel(_SnapshotModel):
    HEADERS = ("Client", "Version", "Transport", "Key", "Connected since", "Last seen", "Calls")

    def rows_of(self, snapshot: GatewaySnapshot) -> list[ClientRow]:
        return list(snapshot.clients)  # oldest connection first

    def key(self, row: ClientRow) -> str:
        return row.client_id

    def alignment(self, column: int) -> int:
        return RIGHT if column == 6 else super().alignment(column)

    def tick(self) -> None:
        """Relative times ("12 s ago") age without events; repaint that column."""
        if self.rows:
            self.refresh()
            self.dataChanged.emit(self.index(0, 5), self.index(len(self.rows) - 1, 5))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row: ClientRow = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            transport = {"streamable-http": "Streamable HTTP", "sse": "SSE (legacy)"}.get(row.transport, row.transport)
            return (
                row.name, row.version, transport, row.key_name, text.clock(row.connected_at), text.since(row.last_seen),
                row.calls,
            )[col]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self.alignment(col)
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return style.dot("running")
        if role == Qt.ItemDataRole.ToolTipRole and col in (4, 5):
            return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.connected_at if col == 4 else row.last_seen))
        return None

