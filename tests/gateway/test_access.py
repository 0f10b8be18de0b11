"""Per-client keys end to end: a restricted key sees and reaches only what its allow-lists permit."""

from __future__ import annotations

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPError

from app.secrets import client_keys
from tests.conftest import running, stdio_child, wait_for, with_key

pytestmark = pytest.mark.anyio


@pytest.fixture
async def two_servers(secured_gateway):
    gw = await secured_gateway({"files": stdio_child("toy.py", "--uri", "files://a"), "web": stdio_child("toy.py")})
    await wait_for(running(gw, "files", "web"))
    return gw


async def test_restricted_key_sees_only_its_servers_and_tools_everywhere(two_servers):
    gw = two_servers
    key = client_keys.add(gw.config, "cursor", servers=["files"], tools=["files__echo", "files__add_tool"])
    async with Client(with_key(gw, key=key), mode="legacy") as client:
        assert {t.name for t in (await client.list_tools()).tools} == {"files__echo", "files__add_tool"}
        assert {p.name for p in (await client.list_prompts()).prompts} == {"files__greet"}
        assert [str(r.uri) for r in (await client.list_resources()).resources] == ["files://a"]
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["switchboard://files/toy://items/{id}"]

        assert (await client.call_tool("files__echo", {"text": "allowed"})).content[0].text == "allowed"
        for refused in ("files__pid", "web__echo"):
            with pytest.raises(MCPError) as caught:
                await client.call_tool(refused, {})
            assert caught.value.error.message == f"Unknown tool: {refused}"  # as if it did not exist
        with pytest.raises(MCPError):
            await client.get_prompt("web__greet", {"who": "x"})
        with pytest.raises(MCPError):
            await client.read_resource("toy://counter")
        with pytest.raises(MCPError):
            await client.read_resource("switchboard://web/toy://items/1")
        assert (await client.read_resource("files://a")).contents[0].text == "counter=0"

    # The main key still sees everything, and the gateway knows which key made each call.
    calls: list[str] = []
    gw.gateway.bus.subscribe(lambda e: calls.append(e.key_name) if type(e).__name__ == "CallStarted" else None)
    async with Client(with_key(gw), mode="legacy") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"files__pid", "web__echo"} <= names
        await client.call_tool("web__echo", {"text": "x"})
    assert calls == ["main"]
    assert all(c.identity.name in ("main", "cursor") for c in gw.gateway.clients())


async def test_list_changed_respects_the_view(two_servers):
    gw = two_servers
    key = client_keys.add(gw.config, "narrow", servers=["files"])
    heard: dict[str, list[str]] = {"narrow": [], "main": []}
    changed = {"narrow": anyio.Event(), "main": anyio.Event()}

    def listener(name: str):
        async def on_message(message) -> None:
            if isinstance(message, types.ToolListChangedNotification):
                heard[name].append("tools")
                changed[name].set()

        return on_message

    async with (
        Client(with_key(gw, key=key), mode="legacy", message_handler=listener("narrow")) as narrow,
        Client(sse_client(with_key(gw, "/sse")), mode="legacy", message_handler=listener("main")) as main,
    ):
        await narrow.list_tools()
        await main.call_tool("web__add_tool", {"name": "hidden"})  # a server the narrow key cannot see
        with anyio.fail_after(10):
            await changed["main"].wait()
        # Then a change it can see. Changes are announced in order, so had the first reached it, it would
        # have arrived before this one: one notification means the first never did.
        await main.call_tool("files__add_tool", {"name": "visible"})
        with anyio.fail_after(10):
            await changed["narrow"].wait()
        assert heard["narrow"] == ["tools"]
        names = {t.name for t in (await narrow.list_tools()).tools}
        assert "files__visible" in names and "web__hidden" not in names


async def test_revoked_key_is_refused_on_the_next_request(two_servers):
    gw = two_servers
    key = client_keys.add(gw.config, "temp")
    async with httpx2.AsyncClient() as http:
        assert (await http.get(f"{gw.gateway.url}", headers={"Authorization": f"Bearer {key}"})).status_code != 401
        client_keys.revoke(gw.config, "temp")
        refused = await http.get(f"{gw.gateway.url}", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")


async def test_main_key_rotation_applies_at_once(two_servers):
    gw = two_servers
    old = gw.main_key.value()
    async with Client(with_key(gw, key=old), mode="legacy") as client:
        await client.list_tools()
        new = await anyio.to_thread.run_sync(gw.main_key.rotate)
        with pytest.raises(Exception):  # noqa: B017 - the session's next request is refused (HTTP 401)
            await client.list_tools()
    async with Client(with_key(gw, key=new), mode="legacy") as client:
        assert (await client.call_tool("web__echo", {"text": "new key"})).content[0].text == "new key"


async def test_no_key_and_forged_host_are_refused(two_servers):
    gw = two_servers
    async with httpx2.AsyncClient() as http:
        assert (await http.get(gw.gateway.url)).status_code == 401
        forged = await http.get(f"{gw.gateway.base_url}/health", headers={"Host": "evil.example"})
        assert forged.status_code in (403, 421)
        foreign = await http.get(with_key(gw), headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403
        assert (await http.get(f"{gw.gateway.base_url}/health")).status_code == 200


async def test_legacy_sse_posts_ride_on_the_key_that_opened_the_stream(two_servers):
    """An SSE client with the key in its URL POSTs to the endpoint it was given, which has no key;
    only a live session opened with a valid key stands in for it."""
    gw = two_servers
    async with Client(sse_client(with_key(gw, "/sse")), mode="legacy") as client:
        assert (await client.call_tool("web__echo", {"text": "via sse"})).content[0].text == "via sse"
        async with httpx2.AsyncClient() as http:
            guessed = await http.post(f"{gw.gateway.base_url}/messages/?session_id={'0' * 32}", json={"jsonrpc": "2.0"})
        assert guessed.status_code == 401


async def test_a_key_limited_to_tools_sees_only_those_servers_prompts_and_resources(two_servers):
    gw = two_servers
    key = client_keys.add(gw.config, "tools-only", tools=["files__echo"])  # no server list: every server
    async with Client(with_key(gw, key=key), mode="legacy") as client:
        assert {t.name for t in (await client.list_tools()).tools} == {"files__echo"}
        assert {p.name for p in (await client.list_prompts()).prompts} == {"files__greet"}  # not web__greet
        assert [str(r.uri) for r in (await client.list_resources()).resources] == ["files://a"]
        with pytest.raises(MCPError):
            await client.get_prompt("web__greet", {"who": "x"})
        with pytest.raises(MCPError):
            await client.read_resource("toy://counter")  # the web server's

    def tools_only(raw: dict) -> None:  # as a user writes it: "tools, and nothing else"
        entry = next(k for k in raw["gateway"]["client_keys"] if k["name"] == "tools-only")
        entry["tool_servers_content"] = False

    gw.config.update(tools_only)
    async with Client(with_key(gw, key=key), mode="legacy") as client:
        assert {t.name for t in (await client.list_tools()).tools} == {"files__echo"}
        assert (await client.list_prompts()).prompts == [] and (await client.list_resources()).resources == []
