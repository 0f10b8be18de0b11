"""A small chart drawn with QPainter (PySide6-Essentials has no QtCharts): calls per second as bars,
p50 and p95 latency as lines, over the last minutes. Repainted at most twice a second, and only when
the numbers moved or time did (the window slides)."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.ui import style
from app.ui.models.rates import ALL, CallRates, Point

REPAINT_MS = 500
BAR = QColor(style.BLUE)
P50 = QColor(style.GREEN)
P95 = QColor(style.AMBER)
GRID = QColor("#e3e6ec")
TEXT = QColor("#6b7280")


class RateChart(QWidget):
    def __init__(self, rates: CallRates, clock: Callable[[], float] = time.time, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rates = rates
        self.clock = clock
        self.server = ALL
        self._painted: tuple[int, int, str] | None = None
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(120)
        self._timer = QTimer(self)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(self._maybe_repaint)
        self._timer.start()

    def show_server(self, server: str) -> None:
        self.server = server
        self.update()

    def _maybe_repaint(self) -> None:
        key = (self.rates.version, int(self.clock() // self.rates.bucket_s), self.server)
        if key != self._painted and self.isVisible():
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        now = self.clock()
        self._painted = (self.rates.version, int(now // self.rates.bucket_s), self.server)
        points = self.rates.series(self.server, now)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#ffffff"))
        font = QFont(painter.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))
        painter.setFont(font)
        width, height = float(self.width()), float(self.height())
        legend_h = 18.0
        half = (height - legend_h - 8) / 2
        left, right = 44.0, width - 8.0
        rate_box = QRectF(left, legend_h + 4, right - left, half - 6)
        latency_box = QRectF(left, legend_h + half + 8, right - left, half - 6)
        self._legend(painter, points, left)
        self._bars(painter, rate_box, points)
        self._lines(painter, latency_box, points)
        minutes = self.rates.window_s / 60
        painter.setPen(TEXT)
        painter.drawText(QRectF(left, height - 14, right - left, 14), Qt.AlignmentFlag.AlignLeft,
                         f"{minutes:.0f} min ago")  # fmt: skip
        painter.drawText(QRectF(left, height - 14, right - left, 14), Qt.AlignmentFlag.AlignRight, "now")
        painter.end()

    def _legend(self, painter: QPainter, points: list[Point], left: float) -> None:
        last = next((p for p in reversed(points) if p.rate), None)
        who = "all servers" if self.server == ALL else self.server
        now_rate = points[-1].rate if points else 0.0
        parts = [(TEXT, f"{who}:"), (BAR, f"■ {now_rate:.1f} calls/s")]
        if last is not None and last.p50 is not None:
            parts += [(P50, f"— p50 {last.p50:.0f} ms"), (P95, f"— p95 {last.p95:.0f} ms")]
        else:
            parts += [(P50, "— p50"), (P95, "— p95")]
        x = left
        for colour, text in parts:
            painter.setPen(colour)
            painter.drawText(QPointF(x, 13), text)
            x += painter.fontMetrics().horizontalAdvance(text) + 12

    def _axis(self, painter: QPainter, box: QRectF, top: float, unit: str) -> None:
        painter.setPen(QPen(GRID, 1))
        painter.drawLine(box.bottomLeft(), box.bottomRight())
        painter.drawLine(QPointF(box.left(), box.top()), QPointF(box.right(), box.top()))
        painter.setPen(TEXT)
        label = f"{top:.0f} {unit}" if top >= 10 else f"{top:.1f} {unit}"
        painter.drawText(QRectF(0, box.top() - 6, box.left() - 4, 12),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)  # fmt: skip

    def _bars(self, painter: QPainter, box: QRectF, points: list[Point]) -> None:
        top = _nice(max((p.rate for p in points), default=0.0))
        self._axis(painter, box, top, "/s")
        step = box.width() / max(1, len(points))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(BAR)
        for i, point in enumerate(points):
            if point.rate <= 0:
                continue
            h = box.height() * point.rate / top
            painter.drawRect(QRectF(box.left() + i * step + 0.5, box.bottom() - h, max(1.0, step - 1.0), h))

    def _lines(self, painter: QPainter, box: QRectF, points: list[Point]) -> None:
        top = _nice(max((p.p95 or 0.0 for p in points), default=0.0))
        self._axis(painter, box, top, "ms")
        step = box.width() / max(1, len(points))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for colour, pick in ((P95, lambda p: p.p95), (P50, lambda p: p.p50)):
            path = QPainterPath()
            drawing = False
            for i, point in enumerate(points):
                value = pick(point)
                if value is None:
                    drawing = False
                    continue
                xy = QPointF(box.left() + (i + 0.5) * step, box.bottom() - box.height() * value / top)
                if drawing:
                    path.lineTo(xy)
                else:
                    path.moveTo(xy)
                    path.addEllipse(xy, 1.2, 1.2)
                    path.moveTo(xy)
                    drawing = True
            painter.setPen(QPen(colour, 1.6))
            painter.drawPath(path)


def _nice(value: float) -> float:
    """A round top for an axis: 1, 2 or 5 times a power of ten, at least the value."""
    if value <= 0:
        return 1.0
    scale = 10 ** len(str(int(value))) / 10 if value >= 1 else 0.1
    while scale * 10 < value:
        scale *= 10
    for factor in (1, 2, 5, 10):
        if scale * factor >= value:
            return scale * factor
    return scale * 10
