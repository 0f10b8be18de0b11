"""Python's cyclic garbage collected on the GUI thread only.

The gateway runs on a thread of its own and allocates all the time, so left alone the collector would
often run there, and a Qt object caught in a reference cycle (a closed dialog, a menu rebuilt) would be
destroyed off the GUI thread: Qt does not allow that and may crash later. So the automatic collector is
off while the tray runs, and a timer on the GUI thread does its work, with the same thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = 1000) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)
        gc.disable()

    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds, as the automatic collector would."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return

    def stop(self) -> None:
        self._timer.stop()
        gc.enable()
