"""Servers tab: every child with its state and counts; the selected one's command, error, call limits and
cache counts, each tool's policy (editable) and its stderr. A remote server that waits for a sign-in has a
Sign in button in its row (and in the detail pane): the sign-in runs in the background, in the browser."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelection, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.gateway import ServerPolicy
from app.ui import style
from app.ui.panel.tool_policies import ToolPolicyEditor
from app.ui.widgets import EmptyOr, set_widths, table

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp

SIGN_IN_COLUMN = 7  # "Last error": for a server that waits for a sign-in, the button says what to do about it
EMPTY = (
    "No servers yet — add one to the \"mcpServers\" block of the config file\n"
    "(Settings ▸ Open config file). Switchboard applies your edit as soon as you save it."
)


class ServersTab(QWidget):
    def __init__(self, app: DesktopApp) -> None:
        super().__init__()
        self.app = app
        self.view = table(app.servers)
        set_widths(self.view, {0: 150, 1: 70, 2: 130, 3: 60, 4: 70, 5: 80, 6: 60})
        self.view.selectionModel().selectionChanged.connect(self._selected)
        self.page = EmptyOr(app.servers, self.view, EMPTY)

        self.title = QLabel()
        self.title.setObjectName("heading")
        self.state = QLabel()
        self.target = QLabel()
        self.target.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.target.setWordWrap(True)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {style.RED};")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.toggle = QPushButton("Disable")
        self.toggle.clicked.connect(self._toggle)
        self.restart = QPushButton("Restart")
        self.restart.clicked.connect(self._restart)
        self.open_log = QPushButton("Open log file")
        self.open_log.clicked.connect(self._open_log)
        self.sign_in = QPushButton("Sign in…")
        self.sign_in.setObjectName("sign_in")
        self.sign_in.setToolTip("Sign in to this server in your browser; Switchboard keeps the tokens in the keyring.")
        self.sign_in.clicked.connect(self._sign_in_selected)
        self.stderr = QPlainTextEdit()
        self.stderr.setReadOnly(True)
        self.stderr.setPlaceholderText("Nothing on stderr yet.")
        self.stderr.setMaximumBlockCount(500)
        self.stderr.setMinimumHeight(60)  # it gives way first: the table keeps every server in view
        self.limits = QLabel()
        self.limits.setWordWrap(True)
        self.cache = QLabel()
        self.cache.setWordWrap(True)
        self.tool_policies = ToolPolicyEditor(app)

        buttons = QHBoxLayout()
        for button in (self.sign_in, self.toggle, self.restart, self.open_log):
            buttons.addWidget(button)
        buttons.addStretch(1)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("State:", self.state)
        form.addRow("Runs:", self.target)
        form.addRow("Error:", self.error)
        form.addRow("Calls:", self.limits)
        form.addRow("Cache:", self.cache)
        self.error_label = form.labelForField(self.error)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 8, 0, 0)
        detail_layout.addWidget(self.title)
        detail_layout.addLayout(form)
        detail_layout.addLayout(buttons)
        self.pages = QTabWidget()
        self.pages.addTab(self.tool_policies, "Tool policies")
        self.pages.addTab(self.stderr, "Recent stderr")
        detail_layout.addWidget(self.pages, 1)
        self.detail = detail

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.page)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        app.servers.modelReset.connect(self._fit_table)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        app.status_changed.connect(self.update_detail)
        app.servers.modelReset.connect(self._select_first)
        for signal in (app.status_changed, app.servers.modelReset, app.servers.dataChanged):
            signal.connect(self.sync_sign_in_buttons)
        self._select_first()

    def _fit_table(self) -> None:
        """Give the table room for every server (up to the window), the detail pane the rest."""
        rows = len(self.app.servers.rows)
        wanted = self.view.horizontalHeader().height() + rows * self.view.verticalHeader().defaultSectionSize() + 8
        total = sum(self.splitter.sizes()) or self.splitter.height()
        if total > 0:
            table = min(max(wanted, total * 2 // 5), total - 180)  # the detail holds the tool policies too
            self.splitter.setSizes([table, total - table])

    def showEvent(self, event: object) -> None:  # type: ignore[override]
        super().showEvent(event)  # type: ignore[arg-type]
        self._fit_table()

    def selected_name(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        return self.app.servers.rows[rows[0].row()].name

    def select(self, name: str) -> None:
        row = self.app.servers.row_named(name)
        if row >= 0:
            self.view.selectRow(row)

    def _select_first(self) -> None:
        if self.app.servers.rows and self.selected_name() is None:
            self.view.selectRow(0)
        self.update_detail()

    def _selected(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        self.update_detail()

    def update_detail(self) -> None:
        name = self.selected_name()
        detail = self.app.snapshot.details.get(name) if name else None
        self.detail.setVisible(detail is not None)
        if detail is None or name is None or self.app.servers.row_named(name) < 0:
            return
        row = self.app.servers.rows[self.app.servers.row_named(name)]
        self.title.setText(f"{row.name}  ·  {row.kind}")
        self.state.setText(f'<span style="color:{style.STATE_COLOURS.get(row.state, style.GREY)}">●</span> '
                           f"{row.state_text()}")
        self.target.setText(row.target)
        self.error.setText(row.error)
        self.error.setVisible(bool(row.error))
        self.error_label.setVisible(bool(row.error))
        needs = row.state == "needs sign-in"
        # Waiting for the user is no error: what the server asks for, in the colour of its state.
        if isinstance(self.error_label, QLabel):
            self.error_label.setText("Sign-in:" if needs else "Error:")
        self.error.setStyleSheet(f"color: {style.AMBER if needs else style.RED};")
        self.sign_in.setVisible(needs)
        self.sign_in.setEnabled(needs and name not in self.app.sign_ins.in_progress)
        self.toggle.setText("Disable" if row.enabled else "Enable")
        self.restart.setEnabled(row.enabled)
        # In backoff the next try may be 30 s away: the button says it does not wait.
        self.restart.setText("Restart now" if row.state in ("backoff", "failed") else "Restart")
        self.limits.setText(limits_text(detail.policy))
        self.cache.setText(cache_text(detail.policy))
        self.tool_policies.show_tools(name, detail.tools)
        lines = "\n".join(detail.stderr_tail)
        if lines != self.stderr.toPlainText():
            self.stderr.setPlainText(lines)
            self.stderr.verticalScrollBar().setValue(self.stderr.verticalScrollBar().maximum())

    # --- signing in -------------------------------------------------------------------------------
    def sync_sign_in_buttons(self) -> None:
        """A Sign in button in the last column of each row that waits for a sign-in; none elsewhere."""
        model = self.app.servers
        for number, row in enumerate(model.rows):
            index = model.index(number, SIGN_IN_COLUMN)
            current = self.view.indexWidget(index)
            wanted = row.state == "needs sign-in"
            if wanted and (current is None or current.objectName() != f"sign_in:{row.name}"):
                button = QPushButton("Sign in…")
                button.setObjectName(f"sign_in:{row.name}")
                button.setToolTip(row.error)
                button.clicked.connect(lambda _c=False, name=row.name: self.app.sign_ins.sign_in(name))
                self.view.setIndexWidget(index, button)
                current = button
            elif not wanted and current is not None:
                self.view.setIndexWidget(index, None)  # type: ignore[arg-type]
                continue
            if isinstance(current, QPushButton):
                waiting = row.name in self.app.sign_ins.in_progress
                current.setEnabled(not waiting)
                current.setText("Waiting for the browser…" if waiting else "Sign in…")

    def row_button(self, name: str) -> QPushButton | None:
        row = self.app.servers.row_named(name)
        widget = self.view.indexWidget(self.app.servers.index(row, SIGN_IN_COLUMN)) if row >= 0 else None
        return widget if isinstance(widget, QPushButton) else None

    def _sign_in_selected(self) -> None:
        name = self.selected_name()
        if name:
            self.app.sign_ins.sign_in(name)

    def _toggle(self) -> None:
        name = self.selected_name()
        if name:
            row = self.app.servers.rows[self.app.servers.row_named(name)]
            self.app.set_enabled(name, not row.enabled)

    def _restart(self) -> None:
        name = self.selected_name()
        if name:
            self.app.restart_child(name)

    def _open_log(self) -> None:
        name = self.selected_name()
        detail = self.app.snapshot.details.get(name) if name else None
        if detail is None:
            return
        if not detail.log_path.exists():
            self.app.report("info", f"'{name}' has not written anything to its log yet.")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(detail.log_path)))


def limits_text(policy: ServerPolicy | None) -> str:
    if policy is None:
        return ""
    rate = f"at most {policy.rate_limit}" if policy.rate_limit else "no rate limit"
    return (f"{policy.in_flight} in flight of {policy.max_concurrency} (max_concurrency), {policy.waiting} waiting of "
            f"{policy.queue_size} (queue_size) · timeout {policy.timeout_s:g} s · {rate}")  # fmt: skip


def cache_text(policy: ServerPolicy | None) -> str:
    if policy is None:
        return ""
    stats = policy.cache
    ttl = "off for this server (cache_ttl_s)"
    if policy.cache_ttl_s:
        ttl = f"read-only tools kept {policy.cache_ttl_s:g} s"
    listed = sum(1 for settings in policy.tools.values() if "cache_ttl_s" in settings)
    if listed:
        ttl += f"; {listed} tool glob{'s' if listed != 1 else ''} with a TTL of their own"
    counts = f"{stats.hits} hits, {stats.misses} misses, {stats.evictions} evicted · {stats.entries} kept"
    return f"{ttl} · {counts} ({stats.bytes / 1024:.1f} KiB)"
