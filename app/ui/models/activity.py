"""The live call log: a bounded, newest-first table model fed in batches, and its text/status filter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from app.gateway import CallFinished, CallRecord, CallRecorded, CallStarted
from app.ui import style, text

Index = QModelIndex | QPersistentModelIndex
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
STATUSES = ("ok", "error", "timed out", "cancelled", "refused", "in flight")
METHOD_LABELS = {"prompts/get": "prompt", "resources/read": "resource"}


@dataclass
class CallRow:
    call_id: int
    started_at: float
    client: str
    key_name: str
    method: str
    target: str
    server: str
    arguments: Any  # already shortened
    status: str = "in flight"
    duration_ms: float | None = None
    result: Any = None  # already shortened
    error: str | None = None
    summary: str = ""
    cached: bool = False  # answered from the response cache
    decided_by: str | None = None  # "user" | "policy" | "timeout": who settled whether it might run

    @property
    def status_text(self) -> str:
        """The status, with how it came about when that is news: cached, approved, denied, not answered."""
        if self.cached:
            return f"{self.status} · cached"
        if self.decided_by == "user":
            return f"{self.status} · {'approved' if self.status != 'refused' else 'denied'}"
        if self.decided_by == "timeout":
            return f"{self.status} · not answered"
        if self.decided_by == "policy" and self.status == "refused":
            return f"{self.status} · by policy"
        return self.status

    @property
    def what(self) -> str:
        label = METHOD_LABELS.get(self.method)
        if label:
            return f"{label}: {self.target}"
        if self.method != "tools/call":
            return f"{self.method} {self.target}".strip()
        return self.target

    @classmethod
    def from_record(cls, record: CallRecord) -> CallRow:
        """A call as the history stored it (an earlier run's, or this one's once recorded)."""
        call_id = int(record.call_id) if record.call_id.isdigit() else -(record.id or 0)
        return cls(
            call_id, record.started_at, record.client_name, record.key_name, record.method, record.tool,
            record.server, record.arguments, record.status, record.duration_ms, record.result, record.error,
            record.error or _record_summary(record), record.cached, record.decided_by,
        )  # fmt: skip

    def haystack(self) -> str:
        return " ".join((self.client, self.key_name, self.target, self.server, self.method, self.error or "")).lower()


class ActivityModel(QAbstractTableModel):
    """Keeps the last `limit` calls; row 0 is the newest. Rows are stored oldest first."""

    HEADERS = ("Time", "Client", "Tool", "Server", "Duration", "Status")

    def __init__(self, limit: int = 1000) -> None:
        super().__init__()
        self.limit = limit
        self._rows: list[CallRow] = []
        self._by_id: dict[int, CallRow] = {}

    # --- feeding ----------------------------------------------------------------------------------
    def take(self, events: list[Any]) -> None:
        started: list[CallRow] = []
        finished: list[CallRow] = []
        for event in events:
            if isinstance(event, CallStarted):
                row = CallRow(
                    event.call_id, event.started_at, event.client_name, event.key_name, event.method, event.target,
                    event.server, text.shorten(event.arguments),
                )
                self._by_id[event.call_id] = row
                started.append(row)
            elif isinstance(event, CallFinished):
                done = self._by_id.get(event.call_id)
                if done is None:  # its start has already scrolled out of the window
                    continue
                done.status = event.status
                done.duration_ms = event.duration_ms
                done.error = event.error
                # The event holds the raw result: keep only a small display copy, never the payload.
                done.result = text.shorten(event.result) if event.result is not None else None
                done.summary = event.error or text.result_summary(event.result)
                done.cached, done.decided_by = event.cached, event.decided_by
                finished.append(done)
            elif isinstance(event, CallRecorded):  # what the history stored: the detail shows exactly that
                known = self._by_id.get(int(event.record.call_id)) if event.record.call_id.isdigit() else None
                if known is not None:
                    known.arguments, known.result = event.record.arguments, event.record.result
        self._insert(started)
        self._drop_excess()
        self._repaint(finished, started)

    def _insert(self, rows: list[CallRow]) -> None:
        if not rows:
            return
        self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    def _drop_excess(self) -> None:
        excess = len(self._rows) - self.limit
        if excess <= 0:
            return
        first = len(self._rows) - excess  # the oldest are the bottom rows
        self.beginRemoveRows(QModelIndex(), first, len(self._rows) - 1)
        for row in self._rows[:excess]:
            self._by_id.pop(row.call_id, None)
        del self._rows[:excess]
        self.endRemoveRows()

    def _repaint(self, finished: list[CallRow], started: list[CallRow]) -> None:
        fresh = {id(r) for r in started}
        rows = [r for r in finished if id(r) not in fresh and r.call_id in self._by_id]
        if not rows:
            return
        positions = [self.position(r) for r in rows]
        last = len(self.HEADERS) - 1
        self.dataChanged.emit(self.index(min(positions), 0), self.index(max(positions), last))

    def position(self, row: CallRow) -> int:
        # Call ids rise with time, so the list is sorted by id: a binary search finds the row.
        lo, hi = 0, len(self._rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._rows[mid].call_id < row.call_id:
                lo = mid + 1
            else:
                hi = mid
        return len(self._rows) - 1 - lo

    def load(self, records: list[CallRecord]) -> None:
        """Show what the history holds (newest first, as read), keeping this run's rows that are newer than
        the newest stored one (in flight, or not committed yet when it was read)."""
        rows = {r.call_id: r for r in (CallRow.from_record(record) for record in records)}
        newest = max(rows, default=None)
        for row in self._rows:
            if row.call_id not in rows and (newest is None or row.call_id > newest):
                rows[row.call_id] = row
        ordered = sorted(rows.values(), key=lambda r: r.call_id)[-self.limit :]
        self.beginResetModel()
        self._rows = ordered
        self._by_id = {r.call_id: r for r in ordered}
        self.endResetModel()

    def set_limit(self, limit: int) -> None:
        self.limit = limit
        self._drop_excess()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._by_id.clear()
        self.endResetModel()

    # --- reading ----------------------------------------------------------------------------------
    def row_at(self, row: int) -> CallRow:
        return self._rows[len(self._rows) - 1 - row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section == 4:
            return RIGHT
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.row_at(index.row())
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (text.clock(row.started_at), row.client, row.what, row.server, text.duration(row.duration_ms),
                    row.status_text)[col]
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ForegroundRole and col == 5:
            return style.colour(row.status)
        if role == Qt.ItemDataRole.DecorationRole and col == 5:
            return style.dot(row.status)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 4:
            return RIGHT
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.error or row.summary or None
        return None


class ActivityFilter(QSortFilterProxyModel):
    """Text matches client, key, tool, server or error; status is one of STATUSES or "" for all."""

    def __init__(self, source: ActivityModel) -> None:
        super().__init__()
        self._text = ""
        self._status = ""
        self.setSourceModel(source)

    def set_text(self, value: str) -> None:
        self._text = value.strip().lower()
        self.invalidateRowsFilter()

    def set_status(self, value: str) -> None:
        self._status = value
        self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._text and not self._status:
            return True
        model = self.sourceModel()
        assert isinstance(model, ActivityModel)
        row = model.row_at(source_row)
        if self._status and row.status != self._status:
            return False
        return not self._text or self._text in row.haystack()


def _record_summary(record: CallRecord) -> str:
    line = text.result_summary(record.result)
    if line:
        return line
    return ", ".join(record.content_kinds)
