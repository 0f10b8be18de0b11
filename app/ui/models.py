"""Qt table models for children and clients, refreshed from the gateway once per event batch."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from app.gateway.events import CallFinished, CallStarted, ClientConnected, ClientDisconnected
from app.gateway.runtime import Gateway
from app.ui import style, text

Index = QModelIndex | QPersistentModelIndex
CENTER = int(Qt.AlignmentFlag.AlignCenter)
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


@dataclass(frozen=True)
class ServerRow:
    name: str
    kind: str
    state: str
    enabled: bool
    tools: int
    prompts: int
    resources: int
    calls: int
    error: str
    next_retry_at: float | None
    target: str

    def state_text(self, now: float | None = None) -> str:
        if self.state == "backoff" and self.next_retry_at:
            return f"retrying in {max(0, round(self.next_retry_at - (now or time.time())))} s"
        if self.state == "starting":
            return "starting…"
        return self.state


def server_rows(gateway: Gateway) -> list[ServerRow]:
    rows = []
    for s in gateway.children():
        resources = len(s.lists.resources) + len(getattr(s.lists, "templates", []))
        rows.append(
            ServerRow(
                s.name, s.kind, s.state.value, bool(s.config.enabled), len(s.lists.tools), len(s.lists.prompts),
                resources, s.calls, s.error or "", s.next_retry_at, s.target,
            )
        )
    return rows


class _SnapshotModel(QAbstractTableModel):
    """Rows are immutable snapshots; `refresh()` diffs them and signals only what changed."""

    HEADERS: tuple[str, ...] = ()

    def __init__(self, gateway: Gateway) -> None:
        super().__init__()
        self.gateway = gateway
        self.rows: list[Any] = []

    def snapshot(self) -> list[Any]:
        raise NotImplementedError

    def key(self, row: Any) -> str:
        raise NotImplementedError

    def refresh(self) -> None:
        new = self.snapshot()
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

    def snapshot(self) -> list[ServerRow]:
        return server_rows(self.gateway)

    def key(self, row: ServerRow) -> str:
        return row.name

    def alignment(self, column: int) -> int:
        return RIGHT if column in self.NUMERIC else super().alignment(column)

    def take(self, events: list[Any]) -> None:
        if any(not isinstance(e, (ClientConnected, ClientDisconnected)) for e in events):
            self.refresh()

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


@dataclass(frozen=True)
class ClientRow:
    client_id: str
    name: str
    version: str
    transport: str
    key_name: str
    connected_at: float
    last_seen: float
    calls: int


class ClientsModel(_SnapshotModel):
    HEADERS = ("Client", "Version", "Transport", "Key", "Connected since", "Last seen", "Calls")

    def snapshot(self) -> list[ClientRow]:
        clients = sorted(self.gateway.clients(), key=lambda c: c.connected_at)
        return [
            ClientRow(c.client_id, c.name, c.version, c.transport, c.identity.name, c.connected_at, c.last_seen,
                      c.calls)
            for c in clients
        ]

    def key(self, row: ClientRow) -> str:
        return row.client_id

    def alignment(self, column: int) -> int:
        return RIGHT if column == 6 else super().alignment(column)

    def take(self, events: list[Any]) -> None:
        relevant = (ClientConnected, ClientDisconnected, CallStarted, CallFinished)
        if any(isinstance(e, relevant) for e in events):
            self.refresh()

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

