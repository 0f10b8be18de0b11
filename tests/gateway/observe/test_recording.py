"""Real calls through a real gateway (as users run it: app.launch, the guard, per-client keys) land in
the history file with the right fields, survive a restart, and are trimmed by age."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import Implementation

from app.gateway import CallRecord, SqliteHistory
from app.launch import build_services, history_path
from app.secrets import client_keys
from tests.conftest import running, stdio_child, wait_for, with_key, write_config
from tests.gateway.observe.factory import make_call

pytestmark = pytest.mark.anyio


async def stored(services: Any, **filters: Any) -> list[CallRecord]:
    """What the history file holds now (after the writer committed everything handed to it)."""
    history = services.history
    assert await anyio.to_thread.run_sync(history.flush)
    return await anyio.to_thread.run_sync(lambda: history.calls(limit=100, **filters))


async def test_each_call_lands_with_who_what_and_how_it_ended(secured_gateway: Any) -> None:
    services = await secured_gateway(
        {"toy": stdio_child("toy.py", timeout_s=0.5), "gone": {"command": "/nonexistent/server"}}
    )
    await wait_for(running(services, "toy"))
    await wait_for(lambda: services.gateway.supervisors["gone"].state.value in ("backoff", "failed"))
    key = client_keys.add(services.config, "laptop", servers=["toy", "gone"])
    info = Implementation(name="probe-client", version="9.1")
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with Client(with_key(services, key=key), mode="legacy", client_info=info) as client:
        await client.call_tool("toy__echo", {"text": "hello", "api_token": "s3cret-value", "note": "x" * 20_000})
        await client.call_tool("toy__fails", {})
        await client.call_tool("toy__slow", {"seconds": 0.05}, progress_callback=on_progress)
        with pytest.raises(MCPError):
            await client.call_tool("toy__slow", {"seconds": 5})  # past the server's 0.5 s timeout
        with pytest.raises(MCPError):
            await client.call_tool("gone__anything", {})  # its server is not running: refused
    async with Client(with_key(services), mode="2026-07-28") as client:
        await client.call_tool("toy__blob", {"kib": 64})

    calls = await stored(services)
    by_status = {c.status: c for c in calls}
    assert [c.status for c in calls] == ["ok", "refused", "timed out", "ok", "error", "ok"]  # newest first

    echo = calls[-1]
    assert (echo.client_name, echo.client_version, echo.transport, echo.key_name) == (
        "probe-client", "9.1", "streamable-http", "laptop",
    )  # fmt: skip
    assert (echo.server, echo.tool, echo.original, echo.method) == ("toy", "toy__echo", "echo", "tools/call")
    assert echo.arguments["text"] == "hello"
    assert echo.arguments["api_token"] == "••••••"  # masked by the one masking function
    assert len(echo.arguments["note"]) < 4096 and echo.arguments["note"].endswith("(20,000 characters)")
    assert echo.result["content"][0]["text"] == "hello"
    assert (echo.result_size, echo.content_kinds, echo.is_error, echo.error) == (5, ("text",), False, None)
    assert echo.request_id is not None and echo.duration_ms is not None and echo.duration_ms > 0

    failed = by_status["error"]
    assert failed.original == "fails" and failed.is_error and failed.result["content"][0]["text"] == "it failed"
    slow = calls[-3]
    assert slow.original == "slow" and slow.progress_token is not None and progress
    timed_out = by_status["timed out"]
    assert timed_out.error and "0.5" in timed_out.error
    refused = by_status["refused"]
    assert (refused.server, refused.tool, refused.original) == ("gone", "gone__anything", "")
    assert refused.key_name == "laptop"
    assert refused.error and "gone" in refused.error

    blob = calls[0]  # a 2026-era client: no session, its clientInfo rides in each request's _meta
    assert (blob.client_name, blob.key_name, blob.transport) == ("mcp", "main", "streamable-http")
    assert blob.result_size == 64 * 1024
    stored_text = blob.result["content"][0]["text"]
    assert len(stored_text) < 4096 and stored_text.endswith("(65,536 characters)")

    # Filters and text search read the same file.
    assert [c.status for c in await stored(services, key_name="laptop", status="ok")] == ["ok", "ok"]
    assert {c.tool for c in await stored(services, text="SLOW")} == {"toy__slow"}


async def test_history_survives_a_restart_and_records_server_and_key_events(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.json", {"toy": stdio_child("toy.py")})
    services = build_services(config)
    await services.gateway.start()
    try:
        await wait_for(running(services, "toy"))
        async with Client(with_key(services), mode="legacy") as client:
            await client.call_tool("toy__echo", {"text": "before the restart"})
            await client.call_tool("toy__stderr", {"line": "about to fall over"})
            toy = services.gateway.supervisors["toy"]
            first_run = toy.running_since
            with pytest.raises(MCPError):
                await client.call_tool("toy__crash", {})
        # The call's error can come before the supervisor has seen the exit: wait for the next run itself.
        await wait_for(lambda: toy.state.value == "running" and toy.running_since != first_run)
        client_keys.add(services.config, "tablet")
        client_keys.revoke(services.config, "tablet")
        await anyio.to_thread.run_sync(services.main_key.rotate)
    finally:
        await services.gateway.stop()
        await anyio.to_thread.run_sync(services.close)

    again = build_services(config)  # a new process would see the same: the file is in the state dir
    try:
        assert again.history is not None and again.history.path == history_path()
        calls = await stored(again)
        assert [c.original for c in calls][-2:] == ["stderr", "echo"]
        assert calls[-1].arguments == {"text": "before the restart"}
        events = await anyio.to_thread.run_sync(lambda: again.history.events(limit=100))
        kinds = [(e.kind, e.subject) for e in reversed(events)]
        assert ("server_started", "toy") in kinds
        crashed = [e for e in events if e.kind == "server_crashed"]
        assert crashed and "about to fall over" in crashed[0].detail  # the crash names its last stderr line
        assert [k for k in kinds if k[0].startswith("key_")] == [
            ("key_added", "tablet"), ("key_revoked", "tablet"), ("key_rotated", "main"),
        ]  # fmt: skip
    finally:
        await anyio.to_thread.run_sync(again.close)


async def test_calls_past_their_age_are_deleted_while_running(tmp_path: Path) -> None:
    old = SqliteHistory(history_path())
    old.record_call(make_call(1, started_at=1_000_000.0))  # 1970: far past any retention
    old.record_call(make_call(2, started_at=time.time() - 5 * 86400))
    assert await anyio.to_thread.run_sync(old.flush)
    old.close()
    config = write_config(tmp_path / "config.json", {}, history_max_age_days=2)
    services = build_services(config)
    await services.gateway.start()
    try:

        def left() -> list[str]:
            assert services.history is not None
            return [c.call_id for c in services.history.calls()]

        with anyio.fail_after(30):
            while await anyio.to_thread.run_sync(left):  # both are older than 2 days
                await anyio.sleep(0.05)
    finally:
        await services.gateway.stop()
        await anyio.to_thread.run_sync(services.close)


async def test_history_off_records_nothing_and_an_unusable_file_does_not_stop_the_gateway(tmp_path: Path) -> None:
    off = build_services(write_config(tmp_path / "off.json", {}, history=False))
    assert off.history is None and off.history_error is None
    off.close()
    assert not history_path().exists()

    history_path().parent.mkdir(parents=True, exist_ok=True)
    history_path().write_text("not a database\n")
    broken = build_services(write_config(tmp_path / "broken.json", {"toy": stdio_child("toy.py")}))
    await broken.gateway.start()
    try:
        assert broken.history is None
        assert broken.history_error and str(history_path()) in broken.history_error
        await wait_for(running(broken, "toy"))
        async with Client(with_key(broken), mode="legacy") as client:
            assert (await client.call_tool("toy__echo", {"text": "still served"})).content[0].text == "still served"
    finally:
        await broken.gateway.stop()
        broken.close()
    assert history_path().read_text() == "not a database\n"  # never overwritten
