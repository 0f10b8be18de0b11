"""The Connect tab on a real gateway, with real-shaped client files in a throwaway HOME (pytest-qt, offscreen).

The buttons are clicked as a user clicks them; DesktopApp does the file work off the Qt thread, and the
test waits for the files, the config and the rows to show the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from PySide6.QtGui import QGuiApplication

from app.config import read
from app.platform.clients import CLIENTS, Where
from app.secrets.client_keys import digest
from tests.conftest import demo_child, stdio_child, wait_for, write_config
from tests.ui.conftest import save_png

FIXTURES = Path(__file__).resolve().parent.parent / "platform" / "fixtures"


@pytest.fixture
def where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Where:
    """A throwaway HOME the app's Connector reads (it takes HOME from the environment, as in real use)."""
    home = tmp_path / "user"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CONFIG_HOME", "APPDATA", "LOCALAPPDATA", "CODEX_HOME", "CLAUDE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SWITCHBOARD_PORT", "0")  # a first-run config says 8765: tests never bind it
    return Where(home=home, system="linux")


def place(where: Where, client_id: str, fixture: str | None = None, text: str | None = None) -> Path:
    path = CLIENTS[client_id].config_path(where)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if text is not None else (FIXTURES / str(fixture)).read_bytes())
    return path


@pytest.fixture
def desktop(qloop: asyncio.AbstractEventLoop, tmp_path: Path) -> Callable[..., Any]:
    """A DesktopApp run as app/main runs it, with `first_run` as main computes it (no config file yet)."""
    from app.launch import build_services
    from app.ui.desktop import DesktopApp

    @contextlib.asynccontextmanager
    async def make(config: Path, *, first_run: bool) -> AsyncIterator[Any]:
        services = build_services(config)
        app = DesktopApp(services, tray_available=True, first_run=first_run)
        task = asyncio.ensure_future(app.run())
        try:
            await wait_for(lambda: app.snapshot.state == "running" or app.last_error, what="the gateway to start")
            yield app
        finally:
            app.request_quit()
            assert await asyncio.wait_for(task, 15) == 0
            services.close()

    return make


def own_servers() -> tuple[str, str]:
    """Cursor's and Claude Code's files with servers of their own that reach nothing beyond this machine
    (the gateway starts what is imported at once)."""
    toy = stdio_child("toy.py")
    cursor = {
        "mcpServers": {
            "toy": toy,
            "docs": {"url": "http://127.0.0.1:9/mcp", "headers": {"X-Token": "${env:SB_TEST_DOCS_TOKEN}"}},
        }
    }
    claude = {"numStartups": 12, "mcpServers": {"toy": {"type": "stdio", **toy}}, "theme": "dark"}
    return json.dumps(cursor, indent=4), json.dumps(claude, indent=2)


def notices(app: Any) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    app.notice.connect(lambda level, text, topic: seen.append((level, text)))
    return seen


def servers_in(config: Path) -> set[str]:
    return set(json.loads(config.read_text())["mcpServers"])


def row(app: Any, client_id: str) -> Any:
    return app.panel.connect_tab.rows[client_id]


def state(app: Any, client_id: str) -> Any:
    return app.panel.connect_tab.state_of(client_id)


def test_first_run_opens_on_connect_with_an_offer_and_imports_only_when_asked(desktop, run, where, tmp_path):
    cursor_text, claude_text = own_servers()
    cursor = place(where, "cursor", text=cursor_text)
    claude = place(where, "claude-code", text=claude_text)
    originals = {cursor: cursor.read_bytes(), claude: claude.read_bytes()}
    config = tmp_path / "sb" / "config.json"  # not there yet: this is the first run

    async def scenario() -> None:
        async with desktop(config, first_run=True) as app:
            tab = app.panel.connect_tab
            seen = notices(app)
            await wait_for(lambda: tab.offer.isVisible(), what="the import offer")
            assert app.panel.tabs.currentWidget() is tab and app.panel.isVisible()
            text = tab.offer_text.text()
            assert "Claude Code (1)" in text and "Cursor (2)" in text
            assert servers_in(config) == {"demo"}  # offered, not done
            assert row(app, "cursor").importer.text() == "Import 2 servers"
            shot = await save_png(app.panel, "connect-first-run.png")
            assert shot.stat().st_size > 10_000

            tab.offer_import.click()
            await wait_for(lambda: servers_in(config) == {"demo", "toy", "docs"}, what="the imported servers")
            await wait_for(lambda: not tab.offer.isVisible() and not row(app, "cursor").importer.isEnabled())
            assert row(app, "cursor").importer.text() == "Import its servers"
            said = " ".join(text for level, text in seen if level == "warning")
            assert "Imported from Claude Code: toy." in said and "Imported from Cursor: docs." in said
            assert "Cursor's toy: already in Switchboard with the same entry (skipped)." in said
            assert "'docs' was imported but cannot start yet" in said and "SB_TEST_DOCS_TOKEN" in said
            assert read(config).raw["mcpServers"]["docs"]["headers"] == {
                "X-Token": "${SB_TEST_DOCS_TOKEN}"  # Cursor's ${env:NAME}, as Switchboard spells it
            }
            await wait_for(lambda: app.snapshot.server("toy") is not None and app.snapshot.server("toy").state
                        == "running", what="the imported server running")

    run(scenario())
    assert {p: p.read_bytes() for p in originals} == originals  # the clients' files: only read


def test_not_now_imports_nothing_and_a_later_run_offers_nothing(desktop, run, where, tmp_path):
    place(where, "cursor", "cursor_mcp.json")
    config = tmp_path / "sb" / "config.json"

    async def scenario() -> None:
        async with desktop(config, first_run=True) as app:
            tab = app.panel.connect_tab
            await wait_for(lambda: tab.offer.isVisible(), what="the import offer")
            tab.offer_later.click()
            assert not tab.offer.isVisible() and servers_in(config) == {"demo"}
        async with desktop(config, first_run=False) as app:
            await app.tasks.drain()
            assert app.connections.offer == [] and not app.panel.isVisible()

    run(scenario())
    assert servers_in(config) == {"demo"}


async def call_with_entry(url: str, headers: dict[str, str]) -> str:
    """An MCP client using exactly the URL and headers a client's file holds."""
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        result = await client.call_tool("demo__echo", {"text": "through the entry"})
    return str(result.content[0].text)  # type: ignore[union-attr]


def test_import_connect_and_disconnect_buttons(desktop, run, where, tmp_path):
    cursor = place(where, "cursor", text=own_servers()[0])
    original = cursor.read_bytes()
    config = write_config(tmp_path / "sb" / "config.json", {"demo": demo_child()})

    async def scenario() -> None:
        async with desktop(config, first_run=False) as app:
            app.show_panel()
            app.panel.tabs.setCurrentWidget(app.panel.connect_tab)
            await wait_for(lambda: state(app, "cursor") is not None, what="the clients' states")
            seen = notices(app)
            cursor_row = row(app, "cursor")
            assert cursor_row.state.text() == "Installed, not connected"
            assert cursor_row.toggle.text() == "Connect"

            assert cursor_row.importer.text() == "Import 2 servers"
            cursor_row.importer.click()
            assert not cursor_row.importer.isEnabled()  # busy until the files are read again
            await wait_for(lambda: servers_in(config) == {"demo", "toy", "docs"}, what="Cursor's servers imported")
            await wait_for(lambda: state(app, "cursor").new_servers == () and cursor_row.toggle.isEnabled())
            assert not cursor_row.importer.isEnabled() and cursor.read_bytes() == original

            cursor_row.toggle.click()
            await wait_for(lambda: state(app, "cursor").connected, what="Cursor connected")
            entry = json.loads(cursor.read_text())["mcpServers"]["switchboard"]
            assert entry["url"] == app.snapshot.url
            key = entry["headers"]["Authorization"].removeprefix("Bearer ")
            keys = read(config).config.gateway.client_keys
            assert [(k.name, k.sha256) for k in keys] == [("cursor", digest(key))]
            assert cursor_row.toggle.text() == "Disconnect"
            assert cursor_row.state.text() == "Connected over HTTP, key 'cursor'"
            assert any("Connected Cursor: ~/.cursor/mcp.json now points at" in said for _, said in seen)
            assert await call_with_entry(entry["url"], entry["headers"]) == "through the entry"
            shot = await save_png(app.panel, "connect.png")
            assert shot.stat().st_size > 10_000

            cursor_row.toggle.click()
            await wait_for(lambda: not state(app, "cursor").connected, what="Cursor disconnected")
            assert cursor.read_bytes() == original
            assert read(config).config.gateway.client_keys == []
            assert any("Revoked its key 'cursor'" in said for _, said in seen)

    run(scenario())


def test_a_broken_client_file_is_shown_with_its_sentence_and_never_written(desktop, run, where, tmp_path):
    broken = '{\n  "mcpServers": {\n    "a": {"command": "x"}\n    "b": {"command": "y"}\n  }\n}\n'
    path = place(where, "lm-studio", text=broken)
    config = write_config(tmp_path / "sb" / "config.json", {"demo": demo_child()})

    async def scenario() -> None:
        async with desktop(config, first_run=False) as app:
            app.panel.show_connect_tab()
            await wait_for(lambda: state(app, "lm-studio") is not None, what="the clients' states")
            lm = row(app, "lm-studio")
            assert lm.state.text() == "File problem"
            assert lm.note.isVisible() and str(path) in lm.note.text() and "line 4" in lm.note.text()
            assert not lm.toggle.isEnabled() and not lm.importer.isEnabled()
            await save_png(app.panel, "connect-file-problem.png")

            await asyncio.wait([app.connections.connect("lm-studio")])  # what a click would do, were it enabled
            await wait_for(lambda: app.panel.notice.level == "error")
            message = app.panel.notice.text()
            assert message.startswith(f"{path} line 4") and "left it unchanged" in message

    run(scenario())
    assert path.read_text() == broken
    assert not any(p.name.endswith("switchboard-backup") for p in path.parent.iterdir())


def test_copy_the_config_snippet_for_a_client_switchboard_does_not_know(desktop, run, where, tmp_path):
    config = write_config(tmp_path / "sb" / "config.json", {"demo": demo_child()})

    async def scenario() -> None:
        async with desktop(config, first_run=False) as app:
            await wait_for(lambda: app.key is not None, what="the API key")
            app.panel.show_connect_tab()
            app.panel.connect_tab.copy_snippet.click()
            pasted = json.loads(QGuiApplication.clipboard().text())
            entry = pasted["mcpServers"]["switchboard"]
            assert entry["url"] == app.snapshot.url
            assert await call_with_entry(entry["url"], entry["headers"]) == "through the entry"

    run(scenario())
