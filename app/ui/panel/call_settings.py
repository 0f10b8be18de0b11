"""Settings ▸ Calls: the gateway-wide call policy defaults (gateway.default_policy, approval_timeout_s,
tool_search), saved to the config file and applied from the next call on, without a restart."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp

DEFAULTS = (
    ("ask-destructive", "Ask before tools that say they are destructive"),
    ("strict", "Ask before every tool that does not say it is read-only"),
    ("allow", "Allow every tool (no approvals unless a server or key asks)"),
)


class CallSettings(QGroupBox):
    def __init__(self, app: DesktopApp) -> None:
        super().__init__("Calls")
        self.app = app
        self.default_policy = QComboBox()
        self.default_policy.setObjectName("default_policy")
        for value, text in DEFAULTS:
            self.default_policy.addItem(text, value)
        self.timeout = QDoubleSpinBox()
        self.timeout.setObjectName("approval_timeout_s")
        self.timeout.setRange(1, 86400)
        self.timeout.setDecimals(0)
        self.timeout.setSuffix(" s")
        self.tool_search = QCheckBox("Tool search mode: clients see three search tools instead of every tool")
        self.tool_search.setObjectName("tool_search")
        self.save = QPushButton("Save")
        self.save.clicked.connect(self._save)
        rows = QVBoxLayout(self)
        policy_row = QHBoxLayout()
        policy_row.addWidget(QLabel("Default policy:"))
        policy_row.addWidget(self.default_policy, 1)
        rows.addLayout(policy_row)
        timeout_row = QHBoxLayout()
        timeout_row.addWidget(QLabel("An unanswered approval is refused after"))
        timeout_row.addWidget(self.timeout)
        timeout_row.addStretch(1)
        rows.addLayout(timeout_row)
        rows.addWidget(self.tool_search)
        note = QLabel(
            "Per server and per tool: the Servers tab (policies) and the \"mcpServers\" entries of the config file "
            "(cache_ttl_s, max_concurrency, queue_size, timeout_s, rate_limit, tools). Per client: "
            "`switchboard keys add NAME --tool-search --rate-limit N/min --policy GLOB=ask`."
        )
        note.setObjectName("muted")
        note.setWordWrap(True)
        rows.addWidget(note)
        save_row = QHBoxLayout()
        save_row.addStretch(1)
        save_row.addWidget(self.save)
        rows.addLayout(save_row)
        app.status_changed.connect(self.update_values)
        self._shown: object = None
        self.update_values()

    def update_values(self) -> None:
        """Follow the file (a hand edit, another process) unless the user is changing a value here."""
        settings = self.app.snapshot.loaded.config.gateway
        values = (settings.default_policy, settings.approval_timeout_s, settings.tool_search)
        if values == self._shown or any(w.hasFocus() for w in (self.default_policy, self.timeout)):
            return
        self._shown = values
        self.default_policy.setCurrentIndex(self.default_policy.findData(settings.default_policy))
        self.timeout.setValue(settings.approval_timeout_s)
        self.tool_search.setChecked(settings.tool_search)

    def _save(self) -> None:
        self.app.approvals.set_defaults(
            default_policy=self.default_policy.currentData(), approval_timeout_s=self.timeout.value(),
            tool_search=self.tool_search.isChecked(),
        )  # fmt: skip
