"""The tray's garbage collection: cycles holding Qt objects are freed by a timer on the GUI thread, and
never by the automatic collector on another thread (the gateway's)."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject

from app.ui.collector import GuiThreadCollector
from tests.conftest import wait_for


class Holder(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_cycles_are_freed_on_the_gui_thread_only(run):
    async def scenario() -> None:
        collector = GuiThreadCollector(interval_ms=10)
        try:
            assert not gc.isenabled()
            holder = Holder()
            gone = weakref.ref(holder)
            del holder

            def churn() -> None:  # what the gateway's thread does all day: allocate cycles
                for _ in range(50_000):
                    a: list[object] = []
                    a.append(a)

            worker = threading.Thread(target=churn)
            worker.start()
            worker.join()
            assert gone() is not None  # the worker's allocations did not run a collection there
            await wait_for(lambda: gone() is None, what="the timer to collect on the GUI thread")
        finally:
            collector.stop()
        assert gc.isenabled()

    run(scenario())
