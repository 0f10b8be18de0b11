"""The tray menu, driven as a user would (action.trigger()), against a real gateway and a real child."""

from __future__ import annotations

import asyncio

import httpx2
import psutil
from mcp import Client
from PySide6.QtGui import QGuiApplication

from tests.conftest import child_pids, wait_for
from tests.ui.conftest import child_state, client_url


async def get(url: str) -> httpx2.Response:
    # Async: the gateway answers on this very loop, so a blocking request would wait for itself.
    async with httpx2.AsyncClient(timeout=2) as http:
        return await http.get(url)


def names(tools) -> set[str]:
    return {t.name for t in tools.tools}


def test_menu_is_built_from_live_state(desktop_factory, run):
    async def scenario() -> None:
        async with desktop_factory() as app:
            await wait_for(lambda: child_state(app, "demo") == "running")
            app.feed.flush()
            app.tray.rebuild()  # what opening the menu does (aboutToShow)
            status = app.tray.action("status")
            assert status.text() == "Running · 1 of 1 servers running, 0 clients"
            assert not status.isEnabled()
            assert app.tray.action("stop") is not None and app.tray.action("start") is None
            server = app.tray.action("server:demo")
            assert server.isCheckable() and server.isChecked()
            assert "running" in server.text()
            assert app.tray.icon.toolTip().splitlines() == ["Switchboard — " + app.summary(), app.snapshot.url]
            assert app.status() == "running"
            assert [a.objectName() for a in app.tray.menu.actions() if a.objectName()] == [
                "status", "stop", "copy_url", "copy_key", "servers", "open_panel", "quit",
            ]

    run(scenario())


def test_copy_url_and_stop_start_from_menu(desktop_factory, run):
    async def scenario() -> None:
        async with desktop_factory() as app:
            gw = app.gateway
            app.tray.rebuild()
            app.tray.action("copy_url").trigger()
            assert QGuiApplication.clipboard().text() == app.snapshot.url
            health = gw.base_url + "/health"

            app.tray.action("stop").trigger()
            await wait_for(lambda: app.snapshot.state == "stopped")
            app.feed.flush()
            assert app.status() == "stopped"
            try:
                await get(health)
                raise AssertionError("the port still answers after Stop")
            except httpx2.ConnectError:
                pass
            app.tray.rebuild()
            assert app.tray.action("status").text() == "Gateway stopped"
            assert not app.tray.action("copy_url").isEnabled()
            assert "Switchboard — Gateway stopped" in app.tray.icon.toolTip()

            app.tray.action("start").trigger()
            await wait_for(lambda: app.snapshot.state == "running")
            codes = [(await get(gw.base_url + "/health")).status_code]
            while codes[-1] == 503:  # "starting" until the demo child is up again
                await asyncio.sleep(0.05)
                codes.append((await get(gw.base_url + "/health")).status_code)
            assert codes[-1] == 200

    run(scenario())


def test_toggle_server_from_menu_stops_child_and_clients_see_it(desktop_factory, run):
    async def scenario() -> None:
        async with desktop_factory() as app:
            gw = app.gateway
            await wait_for(lambda: child_state(app, "demo") == "running")
            before = child_pids()
            assert before, "the demo child should be a child process"
            notifications: list[str] = []

            async def on_message(message) -> None:
                method = getattr(getattr(message, "root", message), "method", None)
                if method:
                    notifications.append(method)

            async with Client(client_url(app), mode="legacy", message_handler=on_message) as client:
                assert "demo__echo" in names(await client.list_tools())
                app.tray.rebuild()
                app.tray.action("server:demo").trigger()  # untick: disable
                await wait_for(lambda: child_state(app, "demo") == "disabled")
                await wait_for(lambda: "notifications/tools/list_changed" in notifications, what="tools/list_changed")
                assert names(await client.list_tools()) == set()
                await wait_for(lambda: not any(psutil.pid_exists(p) for p in before), what="the child to exit")
                from app.config import read

                assert read(gw.config_path).config.mcpServers["demo"].enabled is False  # persisted

                app.feed.flush()
                app.tray.rebuild()
                action = app.tray.action("server:demo")
                assert not action.isChecked() and "disabled" in action.text()
                action.trigger()  # tick: enable again
                await wait_for(lambda: child_state(app, "demo") == "running")
                assert "demo__echo" in names(await client.list_tools())
                assert read(gw.config_path).config.mcpServers["demo"].enabled is True

    run(scenario(), timeout=40)


def test_open_panel_and_quit_from_menu(desktop_factory, run, qloop):
    async def scenario() -> None:
        async with desktop_factory() as app:
            await wait_for(lambda: child_state(app, "demo") == "running")
            pids = child_pids()
            app.tray.rebuild()
            app.tray.action("open_panel").trigger()
            assert app.panel.isVisible()
            app.tray.action("quit").trigger()
            await wait_for(lambda: app.snapshot.state == "stopped" and not app.panel.isVisible(), what="quit")
            await wait_for(lambda: not any(psutil.pid_exists(p) for p in pids), what="no child left")

    run(scenario())
