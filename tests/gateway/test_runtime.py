"""The Gateway facade: toggling children, live config reloads (bad ones keep the last good), health."""

from __future__ import annotations

import json

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.conftest import running, stdio_child, wait_for

pytestmark = pytest.mark.anyio


def tool_list_watcher():
    changed = anyio.Event()

    async def on_message(message) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    return changed, on_message


async def test_disable_stops_the_child_persists_and_clients_see_the_change(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py"), "other": stdio_child("toy.py")})
    await wait_for(running(gw, "toy", "other"))
    changed, on_message = tool_list_watcher()
    async with Client(gw.url, mode="legacy", message_handler=on_message) as client:
        await client.list_tools()
        await gw.set_enabled("toy", False)
        with anyio.fail_after(10):
            await changed.wait()
        names = {t.name for t in (await client.list_tools()).tools}
        assert not any(n.startswith("toy__") for n in names) and "other__echo" in names
        with pytest.raises(MCPError) as caught:
            await client.call_tool("toy__echo", {"text": "x"})
        assert caught.value.error.message == "Unknown tool: toy__echo (Server 'toy' is disabled)"
        assert gw.supervisors["toy"].state.value == "disabled"
        assert json.loads(gw.config_path.read_text())["mcpServers"]["toy"]["enabled"] is False
        await gw.set_enabled("toy", True)
        await wait_for(running(gw, "toy"))
        assert (await client.call_tool("toy__echo", {"text": "again"})).content[0].text == "again"


async def test_edits_on_disk_apply_live_and_a_broken_file_keeps_the_last_good(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py")})
    await wait_for(running(gw, "toy"))
    raw = json.loads(gw.config_path.read_text())
    changed, on_message = tool_list_watcher()
    async with Client(gw.url, mode="legacy", message_handler=on_message) as client:
        gw.config_path.write_text(json.dumps(raw)[:-5])  # half a file: not JSON
        await wait_for(lambda: gw.config_error is not None, timeout=5)
        assert "not valid JSON" in gw.config_error.sentence()
        assert gw.health()["config"] == "the config file has a problem; the last good config is running"
        assert (await client.call_tool("toy__echo", {"text": "kept"})).content[0].text == "kept"

        raw["mcpServers"]["second"] = stdio_child("toy.py")
        gw.config_path.write_text(json.dumps(raw))
        await wait_for(lambda: "second" in gw.supervisors and running(gw, "second")(), timeout=15)
        assert gw.config_error is None and "config" not in gw.health()
        with anyio.fail_after(10):
            await changed.wait()
        assert (await client.call_tool("second__echo", {"text": "new"})).content[0].text == "new"


async def test_one_bad_server_entry_fails_alone_and_the_others_run(gateway_factory, monkeypatch):
    monkeypatch.delenv("SWITCHBOARD_TEST_UNSET", raising=False)
    gw = await gateway_factory({
        "toy": stdio_child("toy.py"),
        "typo": {"comand": "x"},
        "unset": {"url": "https://${SWITCHBOARD_TEST_UNSET}/mcp"},
    })
    await wait_for(running(gw, "toy"))
    assert gw.config_error is None  # the file as a whole is fine
    typo, unset = gw.supervisors["typo"], gw.supervisors["unset"]
    assert (typo.state.value, unset.state.value) == ("failed", "failed")
    assert typo.error == "mcpServers.typo.comand: unknown field (did you mean `command`?)"
    assert "environment variable SWITCHBOARD_TEST_UNSET is not set" in (unset.error or "")
    assert gw.health()["status"] == "degraded"
    async with Client(gw.url, mode="legacy") as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("typo__echo", {})
        assert "cannot start: mcpServers.typo.comand: unknown field" in caught.value.error.message
        assert (await client.call_tool("toy__echo", {"text": "fine"})).content[0].text == "fine"

    # Fixing the entry on disk starts it; removing another stops it.
    raw = json.loads(gw.config_path.read_text())
    raw["mcpServers"]["typo"] = stdio_child("toy.py")
    del raw["mcpServers"]["unset"]
    gw.config_path.write_text(json.dumps(raw))
    await wait_for(running(gw, "typo"))
    await wait_for(lambda: "unset" not in gw.supervisors)


async def test_a_modified_entry_restarts_only_that_child(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py"), "other": stdio_child("toy.py")})
    await wait_for(running(gw, "toy", "other"))
    async with Client(gw.url, mode="legacy") as client:
        before = {n: (await client.call_tool(f"{n}__pid", {})).content[0].text for n in ("toy", "other")}
        raw = json.loads(gw.config_path.read_text())
        raw["mcpServers"]["toy"]["env"] = {"CHANGED": "1"}
        gw.config_path.write_text(json.dumps(raw))
        await wait_for(lambda: gw.supervisors["toy"].config.env == {"CHANGED": "1"} and running(gw, "toy")())
        after = {n: (await client.call_tool(f"{n}__pid", {})).content[0].text for n in ("toy", "other")}
    assert after["toy"] != before["toy"] and after["other"] == before["other"]


async def test_health_is_public_and_says_little(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py", "--exit-at-start")})
    await wait_for(lambda: gw.supervisors["toy"].state.value in ("backoff", "failed"))
    async with httpx2.AsyncClient() as http:
        response = await http.get(f"{gw.base_url}/health")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["children"]["toy"]["state"] in ("backoff", "starting")
    assert "toy.py" not in response.text and "refusing" not in response.text  # no commands, no errors


async def test_unknown_path_and_malformed_json_rpc_get_clear_errors(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py")})
    await wait_for(running(gw, "toy"))
    async with httpx2.AsyncClient() as http:
        missing = await http.get(f"{gw.base_url}/nope")
        assert missing.status_code == 404 and "MCP is at /mcp" in missing.json()["message"]
        headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
        garbage = await http.post(gw.url, content=b"{not json", headers=headers)
        assert garbage.status_code == 400 and garbage.json()["error"]["code"] == -32700
        huge = await http.post(gw.url, content=b"[" + b"1," * 3_000_000 + b"1]", headers=headers)
        assert huge.status_code == 413
    async with Client(gw.url, mode="legacy") as client:  # and it keeps serving
        assert (await client.call_tool("toy__echo", {"text": "fine"})).content[0].text == "fine"


async def test_accepted_connections_have_nagle_off():
    """Guards a 27x latency regression: a response's body must not wait for the client's delayed ACK."""
    import asyncio
    import socket

    from app.gateway.http.serving import bind_socket

    accepted: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connect, sock=bind_socket("127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    await wait_for(lambda: bool(accepted), timeout=5)
    writer.close()
    server.close()
    assert accepted == [1]


async def test_a_first_list_waits_for_a_server_still_starting_and_health_says_starting(gateway_factory):
    """Claude Desktop and Claude Code ignore list_changed: their first list must be complete."""
    gw = await gateway_factory({"slow": stdio_child("misbehave.py", "--slow-start", "2"), "toy": stdio_child("toy.py")})
    async with httpx2.AsyncClient() as http:
        early = await http.get(f"{gw.base_url}/health")
    if gw.supervisors["slow"].state.value == "starting":  # (it always is, unless the machine stalled 2 s)
        assert early.status_code == 503 and early.json()["status"] == "starting"
    async with Client(gw.url, mode="legacy") as client:
        names = {t.name for t in (await client.list_tools()).tools}  # taken at once, answered once it is up
    assert {"slow__ok", "toy__echo"} <= names
    async with httpx2.AsyncClient() as http:
        assert (await http.get(f"{gw.base_url}/health")).json()["status"] == "ok"


async def test_a_call_refused_because_its_server_is_down_is_on_the_bus(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py"), "off": {**stdio_child("toy.py"), "enabled": False}})
    await wait_for(running(gw, "toy"))
    seen: list[object] = []
    gw.bus.subscribe(seen.append)
    async with Client(gw.url, mode="legacy") as client:
        with pytest.raises(MCPError):
            await client.call_tool("off__echo", {"text": "x"})
    finished = [e for e in seen if type(e).__name__ == "CallFinished"]
    started = [e for e in seen if type(e).__name__ == "CallStarted"]
    assert [(s.target, s.server) for s in started] == [("off__echo", "off")]
    refusal = ("refused", "Unknown tool: off__echo (Server 'off' is disabled)")
    assert [(f.status, f.error) for f in finished] == [refusal]


async def test_beyond_loopback_the_allowed_hosts_are_accepted_and_others_refused(secured_gateway):
    gw = (await secured_gateway({}, allow_non_loopback=True, allowed_hosts=["my-box.lan"])).gateway
    async with httpx2.AsyncClient() as http:
        ok = await http.get(f"{gw.base_url}/health", headers={"Host": f"my-box.lan:{gw.port}"})
        other = await http.get(f"{gw.base_url}/health", headers={"Host": f"other.lan:{gw.port}"})
    assert ok.status_code == 200 and other.status_code == 403
