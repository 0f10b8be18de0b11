"""The tray menu, driven as a user would (action.trigger()), against a real gateway and a real child."""

from __future__ import annotations

import httpx2
import psutil
from mcp import Client
from PySide6.QtGui import QGuiApplication

from tests.ui.conftest import until


async def get(url: str) -> httpx2.Response:
    # Async: the gateway answers on this very loop, so a blocking request would wait for itself.
    async with httpx2.AsyncClient(timeout=2) as http:
        return await http.get(url)


def names(tools) -> set[str]:
    return {t.name for t in tools.tools}


def test_menu_is_built_from_live_state(desktop_factory, run):
    app = desktop_factory()
    gw = app.gateway
    run(until(lambda: gw.supervisors["demo"].state.value == "running"))
    app.feed.flush()
    app.tray.rebuild()
    assert app.tray.action("status").text() == "Running · 1 of 1 servers running, 0 clients"
    assert not app.tray.action("status").isEnabled()
    assert app.tray.action("stop") is not None and app.tray.action("start") is None
    server = app.tray.action("server:demo")
    assert server.isCheckable() and server.isChecked()
    assert "running" in server.text()
    assert app.tray.icon.toolTip().splitlines() == ["Switchboard — " + app.summary(), gw.url]
    assert app.status() == "running"


def test_copy_url_and_stop_start_from_menu(desktop_factory, run):
    app = desktop_factory()
    gw = app.gateway
    app.tray.rebuild()
    app.tray.action("copy_url").trigger()
    assert QGuiApplication.clipboard().text() == gw.url
    url = gw.url

    app.tray.rebuild()
    app.tray.action("stop").trigger()
    run(until(lambda: gw.state == "stopped"))
    app.feed.flush()
    assert app.status() == "stopped"
    try:
        run(get(url.replace("/mcp", "/health")))
        raise AssertionError("the port still answers after Stop")
    except httpx2.ConnectError:
        pass
    app.tray.rebuild()
    assert app.tray.action("status").text() == "Gateway stopped"
    assert not app.tray.action("copy_url").isEnabled()

    app.tray.action("start").trigger()
    run(until(lambda: gw.state == "running"))
    assert run(get(gw.base_url + "/health")).status_code == 200


def test_toggle_server_from_menu_stops_child_and_clients_see_it(desktop_factory, run):
    app = desktop_factory()
    gw = app.gateway
    run(until(lambda: gw.supervisors["demo"].state.value == "running"))
    me = psutil.Process()
    children_before = {p.pid for p in me.children(recursive=True)}
    assert children_before, "the demo child should be a child process"

    async def scenario() -> None:
        notifications: list[str] = []

        async def on_message(message) -> None:
            method = getattr(getattr(message, "root", message), "method", None)
            if method:
                notifications.append(method)

        async with Client(gw.url, mode="legacy", message_handler=on_message) as client:
            assert "demo__echo" in names(await client.list_tools())
            app.tray.rebuild()
            app.tray.action("server:demo").trigger()  # untick: disable
            await until(lambda: gw.supervisors["demo"].state.value == "disabled")
            await until(lambda: "notifications/tools/list_changed" in notifications, what="tools/list_changed")
            assert names(await client.list_tools()) == set()
            await until(lambda: not any(psutil.pid_exists(p) for p in children_before), what="child exit")

            app.tray.rebuild()
            action = app.tray.action("server:demo")
            assert not action.isChecked()
            action.trigger()  # tick: enable again
            await until(lambda: gw.supervisors["demo"].state.value == "running")
            assert "demo__echo" in names(await client.list_tools())

    run(scenario(), timeout=40)
    assert gw.loaded.raw["mcpServers"]["demo"].get("enabled", True) is True
    # The choice is persisted in the config file, not just applied.
    from app.config import load

    assert load(gw.config_path).config.mcpServers["demo"].enabled is True


def test_open_panel_and_quit_from_menu(desktop_factory, run):
    app = desktop_factory()
    app.tray.rebuild()
    app.tray.action("open_panel").trigger()
    assert app.panel.isVisible()
    app.tray.action("quit").trigger()
    run(until(lambda: app.gateway.state == "stopped" and not app.panel.isVisible()))
