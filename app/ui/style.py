"""Colours and small painted pieces shared by the tray and the panel, so a state looks the same everywhere."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

GREEN = "#1f9d55"
BLUE = "#2f6fde"
AMBER = "#c77c02"
RED = "#d64545"
GREY = "#7b8190"

STATE_COLOURS = {
    # children
    "running": GREEN,
    "starting": BLUE,
    "backoff": AMBER,
    "needs sign-in": AMBER,
    "failed": RED,
    "disabled": GREY,
    "stopped": GREY,
    # calls
    "ok": GREEN,
    "error": RED,
    "cancelled": AMBER,
    "timed out": AMBER,
    "refused": GREY,
    "in flight": BLUE,
    # gateway
    "degraded": AMBER,
    "stopping": AMBER,
}


def colour(state: str) -> QColor:
    return QColor(STATE_COLOURS.get(state, GREY))


@cache
def dot(state: str, size: int = 10) -> QIcon:
    """A filled circle in the state's colour, for table cells and menu items."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour(state))
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    icon = QIcon(pixmap)
    icon.addPixmap(pixmap, QIcon.Mode.Selected)  # the same colour on a selected row: no tint
    return icon


PANEL_CSS = """
QTableView { gridline-color: transparent; selection-background-color: #dbe6fb; selection-color: #111; }
QTableView::item { padding: 2px 6px; }
QHeaderView::section { padding: 4px 6px; font-weight: 600; border: none; border-bottom: 1px solid #d0d4dc;
                       background: #f4f5f8; }
QLabel#heading { font-size: 15px; font-weight: 600; }
QLabel#muted { color: #6b7280; }
QLabel#empty { color: #6b7280; font-size: 13px; }
QFrame#notice { border-radius: 6px; padding: 2px; }
QFrame#notice[level="error"] { background: #fdecec; border: 1px solid #f1b7b7; }
QFrame#notice[level="info"] { background: #eaf1fd; border: 1px solid #b9cdf3; }
QFrame#notice[level="warning"] { background: #fff5e0; border: 1px solid #f0d49a; }
QPlainTextEdit { font-family: monospace; }
"""
