"""Signing in from the desktop: a remote server that asks for OAuth shows `needs sign-in` in the Servers tab
(with a Sign in button in its row) and the tray (a notification, a menu item); the button runs the real
sign-in in the background and the server runs. Real authorization and MCP servers on 127.0.0.1; the
"browser" is an HTTP client following the authorization URL (the test server approves at once)."""

from __future__ import annotations

import asyncio
from typing import Any

from app.ui.panel.servers_tab import SIGN_IN_COLUMN
from tests.conftest import wait_for
from tests.gateway.oauth_servers import follow_in_thread, protected_in_thread
from tests.ui.conftest import child_state, save_png


def test_the_sign_in_button_signs_in_and_the_server_runs(desktop_factory: Any, run: Any) -> None:
    with protected_in_thread(scopes=["read", "write"]) as server:

        async def scenario() -> None:
            async with desktop_factory({"docs": {"url": server.url}}) as app:
                await wait_for(lambda: child_state(app, "docs") == "needs sign-in", what="docs to need a sign-in")
                tab = app.panel.servers_tab
                app.panel.show_servers_tab("docs")
                await wait_for(lambda: tab.row_button("docs") is not None, what="the row's Sign in button")
                row = app.snapshot.server("docs")
                assert server.auth.url in row.error and "read write" in row.error
                assert app.status() == "degraded" and "1 waiting for a sign-in" in app.summary()
                assert tab.sign_in.isVisible() and tab.sign_in.isEnabled()

                # The tray said so, and its Servers menu offers the sign-in.
                await wait_for(lambda: app.tray.messages, what="a tray notification")
                title, text = app.tray.messages[-1]
                assert title == "Switchboard: sign in to docs" and server.auth.url in text
                app.tray.rebuild()
                item = app.tray.action("sign_in:docs")
                assert item is not None and item.isEnabled()
                assert (await save_png(app.panel, "servers-needs-sign-in.png")).stat().st_size > 0

                app.sign_ins.opener = follow_in_thread
                button = tab.row_button("docs")
                assert button is not None and button.text() == "Sign in…"
                button.click()
                await wait_for(lambda: child_state(app, "docs") == "running", timeout=30, what="docs to run")
                await wait_for(lambda: app.servers.rows[0].state == "running", what="the table to show it running")
                assert tab.row_button("docs") is None
                assert len(app.sign_ins.opened) == 1 and "code_challenge_method=S256" in app.sign_ins.opened[0]
                assert server.auth.grants == ["authorization_code"]
                assert not tab.sign_in.isVisible()
                assert app.snapshot.server("docs").tools == 1
                assert tab.view.indexWidget(app.servers.index(0, SIGN_IN_COLUMN)) is None
                await save_png(app.panel, "servers-signed-in.png")

        run(scenario())


def test_a_sign_in_nobody_finishes_in_the_browser_says_so_and_the_button_comes_back(desktop_factory: Any,
                                                                                    run: Any) -> None:
    with protected_in_thread() as server:

        async def scenario() -> None:
            async with desktop_factory({"docs": {"url": server.url}}) as app:
                await wait_for(lambda: child_state(app, "docs") == "needs sign-in")
                said: list[tuple[str, str]] = []
                app.notice.connect(lambda level, sentence, topic: said.append((level, sentence)))
                app.sign_ins.opener = lambda url: None  # the user never comes back from the browser
                app.sign_ins.timeout = 0.5
                task = app.sign_ins.sign_in("docs")
                await asyncio.wait([task])
                assert ("error", "No answer from the browser within 0.5 s, so the sign-in was abandoned. Try again, "
                        "and finish signing in in the browser.") in said
                assert child_state(app, "docs") == "needs sign-in" and not app.sign_ins.in_progress
                button = app.panel.servers_tab.row_button("docs")
                assert button is not None and button.isEnabled()

        run(scenario())
