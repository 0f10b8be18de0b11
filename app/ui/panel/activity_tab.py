"""Activity tab: the calls (this run's live, earlier runs' from the history), newest first, a text/status
filter that searches the history too, the selected call's detail as stored, and a chart of the last minutes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelection, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.ui import text
from app.ui.models.activity import ROW_ROLE, STATUSES, ActivityFilter, CallRow
from app.ui.models.rates import ALL
from app.ui.panel.chart import RateChart
from app.ui.widgets import EmptyOr, set_widths, table

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp

EMPTY = "No calls yet.\nTool calls from your clients appear here live, newest first."
NO_MATCH = "No calls match the filter."
SEARCH_DELAY_MS = 300  # typing settles before the history is searched


class ActivityTab(QWidget):
    def __init__(self, app: DesktopApp) -> None:
        super().__init__()
        self.app = app
        self.proxy = ActivityFilter(app.activity)
        self.view = table(self.proxy, stretch=2)
        set_widths(self.view, {0: 80, 1: 170, 3: 130, 4: 90, 5: 110})
        self.view.selectionModel().selectionChanged.connect(self._selected)
        self.page = EmptyOr(self.proxy, self.view, EMPTY)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by client, tool, server or error…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._search_history)
        self.searches = 0  # history searches finished (tests wait on it)
        self.status = QComboBox()
        self.status.addItem("All statuses", "")
        for status in STATUSES:
            self.status.addItem(status.capitalize(), status)
        self.status.currentIndexChanged.connect(self._filter)
        clear = QPushButton("Clear")
        clear.setToolTip("Forget the calls shown here (the gateway keeps running).")
        clear.clicked.connect(app.activity.clear)
        self.count = QLabel()
        self.count.setObjectName("muted")
        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.status)
        bar.addWidget(clear)

        self.chart = RateChart(app.rates)
        self.chart_server = QComboBox()
        self.chart_server.addItem("All servers", ALL)
        self.chart_server.currentIndexChanged.connect(lambda: self.chart.show_server(self.chart_server.currentData()))
        app.status_changed.connect(self._chart_servers)
        chart_bar = QHBoxLayout()
        chart_label = QLabel("Last 5 minutes")
        chart_label.setObjectName("muted")
        chart_bar.addWidget(chart_label)
        chart_bar.addStretch(1)
        chart_bar.addWidget(self.chart_server)

        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setPlaceholderText("Select a call to see its arguments and result.")

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.page)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(chart_bar)
        layout.addWidget(self.chart)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.count)
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset):
            signal.connect(self._count)
        self.proxy.dataChanged.connect(self._refresh_detail)
        self._count()

    def _filter(self) -> None:
        self.proxy.set_text(self.search.text())
        self.proxy.set_status(self.status.currentData() or "")
        filtered = bool(self.search.text().strip() or self.status.currentData())
        self.page.set_empty_text(NO_MATCH if filtered else EMPTY)
        self.page.update_page()
        self._count()
        self._search_timer.start()  # and search the history, once typing settles

    def _search_history(self) -> None:
        if self.app.quitting:  # the timer may fire after Quit, when no loop is left to run the search
            return
        self.app.tasks.spawn(self._searched(), "search the call history")

    async def _searched(self) -> None:
        await self.app.search_history(self.search.text(), self.status.currentData() or "")
        self.searches += 1

    def _chart_servers(self) -> None:
        known = {self.chart_server.itemData(i) for i in range(self.chart_server.count())}
        for row in self.app.servers.rows:
            if row.name not in known:
                self.chart_server.addItem(row.name, row.name)

    def _count(self, *args: object) -> None:
        total = self.app.activity.rowCount()
        shown = self.proxy.rowCount()
        keeps = f"keeps the last {self.app.activity.limit:,}"
        if self.app.history is not None:
            keeps += "; the filter searches the history, earlier runs included"
        counted = f"{total:,} calls" if shown == total else f"Showing {shown:,} of {total:,} calls"
        self.count.setText(f"{counted} ({keeps})")

    def selected(self) -> CallRow | None:
        rows = self.view.selectionModel().selectedRows()
        return rows[0].data(ROW_ROLE) if rows else None

    def _selected(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        self._refresh_detail()

    def _refresh_detail(self, *args: object) -> None:
        row = self.selected()
        self.detail.setPlainText(describe(row) if row else "")


def describe(row: CallRow) -> str:
    lines = [
        f"{row.what}  on  {row.server}",
        f"{row.status}  ·  {text.duration(row.duration_ms) or 'running'}  ·  started {text.clock(row.started_at)}",
        f"client {row.client}  ·  key {row.key_name}  ·  {row.method}",
        *([decision(row)] if row.cached or row.decided_by else []),
        "",
        "Arguments",
        text.pretty(row.arguments),
        "",
    ]
    if row.error:
        lines += ["Error", row.error]
    if row.result is not None:
        lines += ["Result" if row.status == "ok" else "Result (the tool reported an error)", text.pretty(row.result)]
    return "\n".join(lines)



def decision(row: CallRow) -> str:
    """Who decided that the call might run (or not), for the detail pane."""
    if row.cached:
        return "answered from the cache: its server was not called"
    if row.decided_by == "user":
        return "approved in Switchboard" if row.status != "refused" else "denied in Switchboard"
    if row.decided_by == "timeout":
        return "refused: nobody answered its approval in time (gateway.approval_timeout_s)"
    return "allowed by its policy" if row.status != "refused" else "refused by its policy"
