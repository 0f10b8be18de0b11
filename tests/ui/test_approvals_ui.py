"""Approvals in the desktop app (pytest-qt, offscreen): a call waiting for approval in the panel and the tray
menu, answered by a click; the per-tool policy editor of the Servers tab; the call defaults in Settings."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.conftest import wait_for
from tests.gateway.policy.conftest import ledger
from tests.ui.conftest import child_state, client_url, save_png


async def call(url: str, tool: str, arguments: dict[str, Any]) -> str:
    async with Client(url, mode="legacy") as client:
        try:
            return (await client.call_tool(tool, arguments)).content[0].text
        except MCPError as exc:
            return "refused: " + exc.error.message


SEEN: set[str] = set()


async def waiting(app: Any) -> str:
    """Wait for a call that waits for approval and was not seen before (the snapshot may still show an answered
    one for a moment); returns its id."""

    def new() -> list[str]:
        return [a.id for a in app.snapshot.approvals if a.id not in SEEN]

    await wait_for(lambda: len(app.snapshot.approvals) == 1 and new(), what="a new approval in the snapshot")
    app.status_changed.emit()
    SEEN.update(new())
    return app.snapshot.approvals[0].id


def test_a_call_waits_in_the_panel_and_approve_deny_always_answer_it(desktop_factory, run):
    async def scenario() -> None:
        async with desktop_factory({"ledger": ledger()}) as app:
            await wait_for(lambda: child_state(app, "ledger") == "running")
            url = client_url(app)
            panel = app.panel
            panel.show_approvals_tab()
            tab = panel.approvals_tab
            await save_png(panel, "approvals-empty.png")

            first = asyncio.ensure_future(call(url, "ledger__delete_item", {"id": 7, "api_key": "secret-value"}))
            await waiting(app)
            assert tab.model.rowCount() == 1
            row = [tab.model.index(0, c).data() for c in range(tab.model.columnCount())]
            assert row[2:5] == ["main", "ledger", "ledger__delete_item"]
            assert '"api_key": "••••••"' in row[5] and "secret-value" not in row[5]  # masked in the list
            assert panel.tabs.tabText(panel.tabs.indexOf(tab)) == "Approvals (1)"
            assert tab.approve.isEnabled()
            await save_png(panel, "approvals-pending.png")
            app.tray.rebuild()  # the tray's menu offers the same answers
            assert app.tray.action(f"approve:{tab.selected().id}") is not None
            tab.approve.click()
            assert await first == "deleted 7"

            second = asyncio.ensure_future(call(url, "ledger__delete_item", {"id": 8}))
            second_id = await waiting(app)
            app.tray.rebuild()
            deny = app.tray.action(f"deny:{second_id}")
            assert deny is not None
            deny.trigger()  # answered from the tray menu this time
            denied = "refused: Refused: ledger__delete_item on server 'ledger' was denied in Switchboard"
            assert (await second) == denied

            third = asyncio.ensure_future(call(url, "ledger__delete_item", {"id": 9}))
            await waiting(app)
            tab.always.click()
            assert await third == "deleted 9"
            on_disk = json.loads(app.snapshot.config_path.read_text())
            assert on_disk["mcpServers"]["ledger"]["tools"]["delete_item"] == {"policy": "allow"}
            assert await call(url, "ledger__delete_item", {"id": 10}) == "deleted 10"  # not asked again
            await wait_for(lambda: not app.snapshot.approvals)
            app.status_changed.emit()
            assert panel.tabs.tabText(panel.tabs.indexOf(tab)) == "Approvals"

    run(scenario(), timeout=90)


def test_the_tray_asks_and_a_click_on_its_message_opens_the_approval(desktop_factory, run):
    async def scenario() -> None:
        async with desktop_factory({"ledger": ledger()}) as app:
            await wait_for(lambda: child_state(app, "ledger") == "running")
            asked: list[Any] = []
            app.approvals.requested.connect(asked.append)
            pending = asyncio.ensure_future(call(client_url(app), "ledger__delete_item", {"id": 1}))
            await waiting(app)
            await wait_for(lambda: bool(asked), what="the tray to be told")
            assert app.tray.last_asked == asked[0].id
            app.tray.icon.messageClicked.emit()  # what a click on the notification does
            assert app.panel.tabs.currentWidget() is app.panel.approvals_tab
            assert app.panel.approvals_tab.selected().id == asked[0].id
            app.panel.approvals_tab.deny.click()
            assert (await pending).startswith("refused: ")

    run(scenario(), timeout=90)


def test_the_servers_tab_shows_limits_and_edits_a_tools_policy(desktop_factory, run):
    async def scenario() -> None:
        async with desktop_factory({"ledger": ledger(cache_ttl_s=30, max_concurrency=2)}) as app:
            await wait_for(lambda: child_state(app, "ledger") == "running")
            url = client_url(app)
            assert await call(url, "ledger__lookup", {"key": "a"}) == "a: call 1"
            assert await call(url, "ledger__lookup", {"key": "a"}) == "a: call 1"  # cached
            await wait_for(lambda: app.snapshot.details["ledger"].policy.cache.hits == 1)
            panel = app.panel
            panel.tabs.setCurrentIndex(0)
            panel.show_panel()
            tab = panel.servers_tab
            tab.select("ledger")
            tab.update_detail()
            assert "0 in flight of 2 (max_concurrency)" in tab.limits.text()
            assert "read-only tools kept 30 s" in tab.cache.text() and "1 hits, 1 misses" in tab.cache.text()
            editor = tab.tool_policies
            tools = {t.tool: t for t in app.snapshot.details["ledger"].tools}
            assert (tools["delete_item"].policy, tools["lookup"].policy) == ("ask", "allow")
            await save_png(panel, "servers-tool-policies.png")
            choice = editor.choice("write_note")
            assert choice is not None
            choice.setCurrentIndex(choice.findData("deny"))  # as a user picks it
            await wait_for(lambda: app.snapshot.loaded.config.mcpServers["ledger"].tools.get("write_note") is not None,
                           what="the config to follow")  # fmt: skip
            said = await call(url, "ledger__write_note", {"note": "x"})
            assert said.startswith("refused: Refused by policy: ledger__write_note")
            on_disk = json.loads(app.snapshot.config_path.read_text())
            assert on_disk["mcpServers"]["ledger"]["tools"] == {"write_note": {"policy": "deny"}}

    run(scenario(), timeout=90)


def test_settings_saves_the_default_policy_timeout_and_tool_search(desktop_factory, run):
    async def scenario() -> None:
        async with desktop_factory({"ledger": ledger()}) as app:
            await wait_for(lambda: child_state(app, "ledger") == "running")
            calls = app.panel.settings_tab.calls
            app.panel.tabs.setCurrentIndex(3)
            app.panel.show_panel()
            assert calls.default_policy.currentData() == "ask-destructive"
            calls.default_policy.setCurrentIndex(calls.default_policy.findData("allow"))
            calls.timeout.setValue(15)
            calls.tool_search.setChecked(True)
            await save_png(app.panel, "settings-calls.png")
            calls.save.click()
            await wait_for(lambda: app.snapshot.loaded.config.gateway.default_policy == "allow", what="the save")
            settings = json.loads(app.snapshot.config_path.read_text())["gateway"]
            assert (settings["default_policy"], settings["approval_timeout_s"], settings["tool_search"]) == (
                "allow", 15, True)  # fmt: skip
            assert await call(client_url(app), "ledger__delete_item", {"id": 1}) == "deleted 1"  # allow: not asked

    run(scenario(), timeout=90)
