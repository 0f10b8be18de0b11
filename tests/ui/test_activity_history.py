"""Activity reads from the history: calls of an earlier run are there after a restart, the filter searches
them, the detail shows what was stored; and the chart of the last minutes, rendered to PNG and looked at."""

from __future__ import annotations

import asyncio

from mcp import Client
from PySide6.QtGui import QColor

from app.ui import style
from tests.conftest import wait_for
from tests.ui.conftest import child_state, client_url, save_png


def test_activity_spans_restarts_and_searches_the_history(desktop_factory, run):
    async def first_run() -> None:
        async with desktop_factory() as app:
            await wait_for(lambda: child_state(app, "demo") == "running")
            async with Client(client_url(app), mode="legacy") as client:
                await client.call_tool("demo__echo", {"text": "from yesterday's run", "password": "hunter2"})
                for i in range(3):
                    await client.call_tool("demo__add", {"a": i, "b": 1})
            assert app.history is not None
            assert await asyncio.to_thread(app.history.flush)

    async def second_run() -> None:
        async with desktop_factory() as app:
            await wait_for(lambda: app.activity.rowCount() == 4, what="the earlier run's calls in Activity")
            app.show_panel()
            app.panel.tabs.setCurrentIndex(2)
            tab = app.panel.activity_tab
            oldest = app.activity.row_at(3)
            assert (oldest.target, oldest.status, oldest.client) == ("demo__echo", "ok", "mcp")
            assert "earlier runs included" in tab.count.text()

            # This run's calls join them, newest first.
            await wait_for(lambda: child_state(app, "demo") == "running")
            async with Client(client_url(app), mode="legacy") as client:
                await client.call_tool("demo__echo", {"text": "from today's run"})
            await wait_for(lambda: app.activity.rowCount() == 5 and app.activity.row_at(0).status == "ok")

            # The filter searches the history: with the model cut to this run only, it finds the old call.
            app.activity.clear()
            searched = tab.searches
            tab.search.setText("ECHO")
            await wait_for(lambda: tab.searches > searched, what="the history search")
            assert [app.activity.row_at(i).target for i in range(app.activity.rowCount())] == ["demo__echo"] * 2
            tab.view.selectRow(1)
            detail = tab.detail.toPlainText()
            assert "from yesterday's run" in detail and "hunter2" not in detail and "••••••" in detail
            assert "Result" in detail
            await save_png(app.panel, "activity-history.png")

    run(first_run(), timeout=60)
    run(second_run(), timeout=60)


def test_the_chart_draws_calls_per_second_and_latency(desktop_factory, run):
    async def scenario() -> None:
        async with desktop_factory() as app:
            await wait_for(lambda: child_state(app, "demo") == "running")
            app.show_panel()
            app.panel.tabs.setCurrentIndex(2)
            tab = app.panel.activity_tab
            calls = 0
            async with Client(client_url(app), mode="legacy") as client:
                # Calls until three of the chart's 5-second buckets hold some, so it draws a line, not a dot.
                deadline = asyncio.get_running_loop().time() + 40
                while sum(1 for p in app.rates.series() if p.rate) < 3:
                    assert asyncio.get_running_loop().time() < deadline, "three buckets never filled"
                    await asyncio.gather(*(client.call_tool("demo__add", {"a": i, "b": 2}) for i in range(4)))
                    calls += 4
                    await wait_for(lambda: app.feed.pending == 0)
            points = app.rates.series()
            busy = [p for p in points if p.rate]
            assert len(busy) >= 3 and all(p.p50 is not None and p.p95 is not None and p.p95 >= p.p50 for p in busy)
            await wait_for(lambda: app.rates.count() == calls, what="every call in the chart's window")
            assert app.rates.servers() == ["demo"]
            await wait_for(lambda: tab.chart_server.findData("demo") >= 0, what="the server in the chart's list")
            tab.chart_server.setCurrentIndex(tab.chart_server.findData("demo"))
            tab.chart.resize(720, 120)
            path = await save_png(tab.chart, "activity-chart.png")
            await save_png(app.panel, "activity-with-chart.png")

            image = tab.chart.grab().toImage()
            colours = {image.pixelColor(x, y).name() for x in range(image.width()) for y in range(image.height())}
            for wanted in (style.BLUE, style.GREEN, style.AMBER):  # the bars, the p50 line, the p95 line
                assert _near(colours, QColor(wanted)), f"no {wanted} in {path}"

    run(scenario(), timeout=60)


def _near(colours: set[str], target: QColor, tolerance: int = 40) -> bool:
    for name in colours:
        c = QColor(name)
        if abs(c.red() - target.red()) + abs(c.green() - target.green()) + abs(c.blue() - target.blue()) < tolerance:
            return True
    return False
