"""Small building blocks of the panel: a notice banner, a table that shows a helpful text when empty."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStackedWidget,
    QTableView,
    QToolButton,
    QWidget,
)


class Notice(QFrame):
    """A dismissable one-line message; errors stay until dismissed, info fades after a while."""

    def __init__(self, parent: QWidget | None = None, *, dismissable: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("notice")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        close.setVisible(dismissable)
        self.level = ""
        self._fade = QTimer(self)
        self._fade.setSingleShot(True)
        self._fade.timeout.connect(self.hide)
        self.hide()

    def show_text(self, level: str, text: str, fade_ms: int = 0) -> None:
        self._fade.stop()
        if fade_ms:
            self._fade.start(fade_ms)
        self.level = level
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""


def table(model: QAbstractItemModel, stretch: int | None = None) -> QTableView:
    """A read-only row-selecting table; `stretch` is the column that takes spare width (default: the last)."""
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(28)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setStretchLastSection(stretch is None)
    if stretch is not None:
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return view


def set_widths(view: QTableView, widths: dict[int, int]) -> None:
    header = view.horizontalHeader()
    for column, width in widths.items():
        if header.sectionResizeMode(column) != QHeaderView.ResizeMode.Stretch:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        view.setColumnWidth(column, width)


class EmptyOr(QStackedWidget):
    """Shows `content` when the model has rows, else a centred explanation of what to do."""

    def __init__(self, model: QAbstractItemModel, content: QWidget, empty_text: str) -> None:
        super().__init__()
        self.model = model
        self.empty = QLabel(empty_text)
        self.empty.setObjectName("empty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.addWidget(content)
        self.addWidget(self.empty)
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.layoutChanged):
            signal.connect(self.update_page)
        self.update_page()

    def update_page(self, *args: object) -> None:
        has_rows = self.model.rowCount(QModelIndex()) > 0
        self.setCurrentIndex(0 if has_rows else 1)

    def set_empty_text(self, text: str) -> None:
        self.empty.setText(text)
