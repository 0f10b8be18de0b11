"""The control panel against a real gateway: live clients and calls, toggling servers, Settings, screenshots."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import httpx2
from mcp import Client
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from app.config import read
from app.gateway import CallStarted
from tests.conftest import SERVERS, child_pids, demo_child, wait_for
from tests.ui.conftest import child_state, client_url, save_png


def show(app, tab: int):
    app.show_panel()
    app.panel.tabs.setCurrentIndex(tab)
    app.feed.flush()
    return app.panel


def tool_names(result) -> set[str]:
    return {t.name for t in result.tools}


def test_live_call_appears_in_activity_and_client_in_clients(desktop_factory, run):
    async def scenario() -> None:
        async with desktop_factory() as app:
            await wait_for(lambda: child_state(app, "demo") == "running")
            panel = show(app, 2)
            tab = panel.activity_tab
            assert tab.page.currentIndex() == 1 and "No calls yet" in tab.page.empty.text()  # the empty state
            await save_png(panel, "activity-empty.png")
            await save_png(show(app, 1), "clients-empty.png")
            assert "No clients connected" in panel.clients_tab.page.empty.text()

            async with Client(client_url(app), mode="legacy") as client:
                await client.call_tool("demo__echo", {"text": "hello from the test", "api_token": "s3cret"})
                await client.call_tool("demo__add", {"a": 2, "b": 40})
                failed = await client.call_tool("demo__add", {"a": "not a number", "b": 1})
                assert failed.is_error
                await wait_for(lambda: app.activity.rowCount() == 3 and app.activity.row_at(0).status != "in flight")
                await wait_for(lambda: len(app.clients.rows) == 1, what="the client in Clients")
                row = app.clients.rows[0]
                assert (row.name, row.transport) == ("mcp", "streamable-http")
                assert row.calls >= 3
                assert panel.tabs.tabText(1) == "Clients (1)"
                assert panel.clients_tab.page.currentIndex() == 0
                await save_png(show(app, 1), "clients.png")
                show(app, 2)
                tab.view.selectRow(2)
                await save_png(panel, "activity.png")
            await wait_for(lambda: app.clients.rows == [], what="the client to leave Clients")

            newest, middle, oldest = (app.activity.row_at(i) for i in range(3))
            assert (oldest.target, oldest.server, oldest.status) == ("demo__echo", "demo", "ok")
            assert oldest.key_name == "main"
            assert (middle.target, middle.status) == ("demo__add", "ok")
            assert newest.status == "error" and "validation error" in newest.summary  # the tool's own error
            model = tab.view.model()
            assert [model.index(1, c).data() for c in (1, 2, 3, 5)] == ["mcp", "demo__add", "demo", "ok"]
            assert model.index(1, 4).data().endswith(("ms", "s"))

            # Detail: arguments and result of the selected call, secret-named fields masked.
            tab.view.selectRow(2)
            detail = tab.detail.toPlainText()
            assert "hello from the test" in detail and "Result" in detail
            assert "s3cret" not in detail and "••••••" in detail

            # Filter by text and by status.
            tab.search.setText("ECHO")
            assert model.rowCount() == 1 and model.index(0, 2).data() == "demo__echo"
            tab.search.setText("")
            tab.status.setCurrentIndex(tab.status.findData("error"))
            assert model.rowCount() == 1 and model.index(0, 5).data() == "error"
            assert tab.count.text().startswith("Showing 1 of 3 calls")
            tab.search.setText("no such thing")
            assert tab.page.currentIndex() == 1 and tab.page.empty.text() == "No calls match the filter."

    run(scenario(), timeout=40)


def test_activity_keeps_the_last_n_and_batches_updates(desktop_factory, run):
    async def scenario() -> None:
        async with desktop_factory(activity_size=10) as app:
            await wait_for(lambda: child_state(app, "demo") == "running")
            resets = []
            app.activity.rowsInserted.connect(lambda *a: resets.append(a))
            started: list[int] = []
            app.gateway.bus.subscribe(lambda e: started.append(e.call_id) if isinstance(e, CallStarted) else None)
            async with Client(client_url(app), mode="legacy") as client:
                await asyncio.gather(*(client.call_tool("demo__add", {"a": i, "b": 1}) for i in range(25)))
            await wait_for(lambda: len(started) == 25 and app.activity.rowCount() == 10
                        and app.activity.row_at(0).call_id == max(started)
                        and all(app.activity.row_at(i).status == "ok" for i in range(10)))
            assert app.activity.rowCount() == 10
            assert len(resets) < 25 / 2, "25 calls should arrive in a few batches, not one insert each"
            kept = {app.activity.row_at(i).call_id for i in range(10)}
            assert len(started) == 25 and kept == set(sorted(started)[-10:])  # the newest ten, newest first
            assert [app.activity.row_at(i).call_id for i in range(10)] == sorted(kept, reverse=True)

    run(scenario(), timeout=40)


def test_toggle_server_from_panel(desktop_factory, run):
    async def scenario() -> None:
        async with desktop_factory({"demo": demo_child(), "spare": demo_child()}) as app:
            await wait_for(lambda: all(r.state == "running" for r in app.snapshot.servers))
            panel = show(app, 0)
            tab = panel.servers_tab
            tab.select("demo")
            tab.update_detail()
            assert tab.title.text().startswith("demo")
            await save_png(panel, "servers.png")
            before = child_pids()
            async with Client(client_url(app), mode="legacy") as client:
                assert {"demo__echo", "spare__echo"} <= tool_names(await client.list_tools())
                # Untick the checkbox in the Servers table, as a click does.
                index = app.servers.index(app.servers.row_named("demo"), 0)
                assert app.servers.setData(index, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
                await wait_for(lambda: child_state(app, "demo") == "disabled")
                tools = tool_names(await client.list_tools())
                assert "demo__echo" not in tools and "spare__echo" in tools
                await wait_for(lambda: len(child_pids()) == len(before) - 1, what="the demo child to exit")
                app.feed.flush()
                await wait_for(lambda: tab.toggle.text() == "Enable")
                assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
                await save_png(panel, "servers-disabled.png")
                tab.toggle.click()  # the detail pane's Enable button
                await wait_for(lambda: child_state(app, "demo") == "running")
                assert "demo__echo" in tool_names(await client.list_tools())

    run(scenario(), timeout=40)


def test_restart_and_failing_server_are_shown(desktop_factory, run):
    async def scenario() -> None:
        servers = {"demo": demo_child(), "broken": {"command": "/nonexistent/mcp-server", "args": ["--stdio"]}}
        async with desktop_factory(servers) as app:
            await wait_for(lambda: child_state(app, "demo") == "running"
                        and child_state(app, "broken") in ("backoff", "failed"))
            app.feed.flush()
            assert app.status() == "degraded"
            assert "1 failing" in app.summary()
            assert app.tray.icon.toolTip().startswith("Switchboard — Running · 1 of 2 servers running, 1 failing")
            broken = app.servers.row_named("broken")
            assert app.servers.rows[broken].error
            assert app.servers.index(broken, 2).data().startswith(("retrying in", "failed"))
            panel = show(app, 0)
            panel.servers_tab.select("broken")
            panel.servers_tab.update_detail()
            assert panel.servers_tab.error.text() == app.servers.rows[broken].error
            await save_png(panel, "servers-degraded.png")

            old = app.snapshot.details["demo"].running_since
            panel.servers_tab.select("demo")
            panel.servers_tab.restart.click()
            await wait_for(lambda: child_state(app, "demo") == "running"
                        and app.snapshot.details["demo"].running_since != old, what="demo to restart")

    run(scenario(), timeout=40)


def test_settings_key_show_copy_rotate_and_the_old_key_is_refused(desktop_factory, run):
    """The Settings flow (hidden, show, copy, confirm, cancel, rotate, which clients to update) on the real
    main key, and over HTTP: the old key refused at once, the new one accepted."""

    async def scenario() -> None:
        async with desktop_factory() as app:
            await wait_for(lambda: app.key is not None, what="the key to load")
            old = app.key.value
            panel = show(app, 3)
            settings = panel.settings_tab
            assert settings.url.text() == app.snapshot.url
            assert settings.key_where.text().startswith("Stored in")
            assert settings.key.echoMode() == settings.key.EchoMode.Password  # hidden by default
            await save_png(panel, "settings.png")
            settings.show_key.click()
            assert settings.key.echoMode() == settings.key.EchoMode.Normal and settings.key.text() == old
            settings.show_key.click()
            settings.copy_key.click()
            assert QGuiApplication.clipboard().text() == old
            body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
            headers = {"Accept": "application/json, text/event-stream"}
            async with Client(client_url(app), mode="legacy") as client, httpx2.AsyncClient(timeout=10) as http:
                await client.list_tools()
                await wait_for(lambda: len(app.snapshot.clients) == 1)
                box = settings.confirm_rotate()
                box.button(QMessageBox.StandardButton.Cancel).click()
                assert app.tasks.pending == 0 and app.key.value == old  # Cancel starts nothing, keeps the key
                box = settings.confirm_rotate()
                box.button(QMessageBox.StandardButton.Yes).click()
                await wait_for(lambda: app.key.value != old, what="the rotation")
                assert "old one no longer works" in panel.notice.text()
                assert "Update these clients, which used the old key: mcp." in panel.notice.text()
                url = app.snapshot.url
                refused = await http.post(url, json=body, headers={**headers, "Authorization": f"Bearer {old}"})
                assert refused.status_code == 401
                new = app.key.value
                fresh = await http.post(url, json=body, headers={**headers, "Authorization": f"Bearer {new}"})
                assert fresh.status_code != 401
            settings.show_key.click()
            assert settings.key.text() == new

    run(scenario(), timeout=60)


def test_no_servers_and_no_tray_banner(desktop_factory, run):
    async def scenario() -> None:
        async with desktop_factory(servers={}, tray=False) as app:
            panel = app.panel
            assert panel.isVisible(), "with no tray the panel opens by itself"
            assert "no system tray" in panel.no_tray.text()
            assert panel.servers_tab.page.currentIndex() == 1
            assert "No servers yet" in panel.servers_tab.page.empty.text()
            await save_png(show(app, 0), "servers-empty-no-tray.png")
            app.tray.rebuild()
            assert "No servers yet" in app.tray.action("servers").menu().actions()[0].text()
            panel.close()  # with no tray, closing the window is quitting
            await wait_for(lambda: app.snapshot.state == "stopped", what="closing to quit")

    run(scenario())


def test_port_in_use_is_a_sentence_and_settings_fix_it(desktop_factory, run):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]

    async def scenario() -> None:
        async with desktop_factory(port=port) as app:
            assert app.snapshot.state == "stopped"
            assert app.panel.notice.text() == (
                f"Port {port} is in use by another program. Choose another port in Settings."
            )
            assert app.panel.isVisible(), "a failed start opens the panel to say why"
            settings = show(app, 3).settings_tab
            assert settings.port.value() == port
            await save_png(app.panel, "settings-port-in-use.png")
            settings.port.setValue(0)  # any free port
            settings.apply_address.click()
            await wait_for(lambda: app.snapshot.state == "running", what="the gateway on the new port")
            # The gateway's thread may be serving a moment before the Qt side hears its call returned.
            await wait_for(lambda: app.panel.notice.text().startswith("Now serving at http://127.0.0.1:"),
                        what="the new URL in the notice")
            assert app.snapshot.port != port
            assert read(app.gateway.config_path).config.gateway.port == 0

    try:
        run(scenario())
    finally:
        taken.close()


def test_restart_now_leaves_a_backoff_at_once_and_a_resolved_failure_clears_its_banner(desktop_factory, run, tmp_path):
    """A child that fails at first (its config points at a missing file), is fixed, and is restarted at
    once with Restart now, without waiting out its backoff; the warning about it goes away."""
    flag = tmp_path / "may-start"
    script = tmp_path / "flaky.py"
    script.write_text(
        "import os, runpy, sys\n"
        f"if not os.path.exists({str(flag)!r}):\n"
        "    print('not yet', file=sys.stderr); sys.exit(3)\n"
        f"sys.argv = [{str(SERVERS / 'toy.py')!r}]\n"
        f"runpy.run_path({str(SERVERS / 'toy.py')!r}, run_name='__main__')\n"
    )

    async def scenario() -> None:
        async with desktop_factory({"flaky": {"command": sys.executable, "args": [str(script)]}}) as app:
            await wait_for(lambda: child_state(app, "flaky") == "backoff", what="the first failure")
            panel = show(app, 0)
            tab = panel.servers_tab
            tab.select("flaky")
            tab.update_detail()
            assert tab.restart.text() == "Restart now"
            await wait_for(lambda: app.snapshot.server("flaky").next_retry_at is not None)
            # Two failures in: the next retry is 1 s or more away. Fixed now; Restart now does not wait for it.
            await wait_for(lambda: "retrying in" in app.servers.index(0, 2).data())
            app.report("warning", "Server 'flaky' failed: not yet", topic="flaky")
            assert panel.notice.text().startswith("Server 'flaky' failed")
            flag.write_text("go")
            tab.restart.click()
            await wait_for(lambda: child_state(app, "flaky") == "running", what="the restart")
            app.feed.flush()
            await wait_for(lambda: panel.notice.text() == "", what="the warning to go")
            tab.update_detail()
            assert tab.restart.text() == "Restart"

    run(scenario())


def test_a_broken_config_file_shows_a_banner_until_it_is_fixed(desktop_factory, run):
    async def scenario() -> None:
        async with desktop_factory() as app:
            await wait_for(lambda: child_state(app, "demo") == "running")
            panel = show(app, 0)
            path = app.snapshot.config_path
            good = path.read_text()
            path.write_text(good[:-3])  # half a file
            await wait_for(lambda: panel.config_banner.text() != "", what="the banner")
            assert "cannot be used: not valid JSON" in panel.config_banner.text()
            assert "The last good config keeps running." in panel.config_banner.text()
            assert app.summary() == "Running · 1 of 1 servers running, 0 clients, the config file has a problem"
            assert app.status() == "degraded"  # amber in the tray, not green
            await save_png(panel, "config-broken.png")
            path.write_text(good)
            await wait_for(lambda: panel.config_banner.text() == "", what="the banner to go")

    run(scenario())


def test_a_history_search_due_after_quit_is_dropped(desktop_factory, run):
    """The Activity tab searches the history on a timer once typing settles; when it fires after Quit
    (the loop is gone), there is nothing to search and no error to raise into Qt."""
    async def scenario() -> object:
        async with desktop_factory() as app:
            return app

    app: Any = run(scenario())
    assert app.quitting
    loop = asyncio.get_event_loop()
    asyncio.set_event_loop(None)  # as after the app's loop has ended
    try:
        app.panel.activity_tab._search_history()  # what the timer's timeout does
    finally:
        asyncio.set_event_loop(loop)
