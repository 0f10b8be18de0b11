"""Tool search mode end to end with an SDK client: the gateway's three tools in place of the catalog, a search
that finds the right tool, its schema, a call through it that reaches the child, arguments refused before the
child sees them, and a restricted key that never learns of tools outside its list."""

from __future__ import annotations

import json

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.conftest import running, stdio_child, wait_for, with_key
from tests.gateway.policy.conftest import ledger, received, text

pytestmark = pytest.mark.anyio
GATEWAY_TOOLS = ["switchboard__search_tools", "switchboard__get_tool", "switchboard__call_tool"]


async def search(client: Client, query: str, limit: int = 3) -> list[str]:
    answer = await client.call_tool("switchboard__search_tools", {"query": query, "limit": limit})
    return [t["name"] for t in json.loads(text(answer))["tools"]]


async def test_search_mode_lists_the_gateway_tools_finds_fetches_and_calls(gateway_factory):
    gw = await gateway_factory({"ledger": ledger(), "toy": stdio_child("toy.py")}, tool_search=True)
    await wait_for(running(gw, "ledger", "toy"))
    async with Client(gw.url, mode="legacy") as client:
        assert [t.name for t in (await client.list_tools()).tools] == GATEWAY_TOOLS
        found = await search(client, "look up a ledger entry")
        assert found[0] == "ledger__lookup"
        described = json.loads(text(await client.call_tool("switchboard__search_tools", {"query": "echo text"})))
        assert described["tools"][0] == {"name": "toy__echo", "title": "", "description": "Echo text"}

        schema = json.loads(text(await client.call_tool("switchboard__get_tool", {"name": "ledger__lookup"})))
        assert schema["inputSchema"]["required"] == ["key"]
        assert schema["annotations"]["readOnlyHint"] is True

        called = await client.call_tool("switchboard__call_tool", {"name": "ledger__lookup", "arguments": {"key": "a"}})
        assert text(called) == "a: call 1"

        refused = await client.call_tool("switchboard__call_tool", {"name": "ledger__lookup", "arguments": {"key": 5}})
        assert refused.is_error
        assert text(refused).startswith("Not sent to ledger__lookup: its arguments do not match its input schema: ")
        assert "5 is not of type 'string'" in text(refused)
        missing = await client.call_tool("switchboard__call_tool", {"name": "ledger__lookup", "arguments": {}})
        assert missing.is_error and "'key' is a required property" in text(missing)

        # A tool called by the name the client remembered still works, search mode or not.
        assert text(await client.call_tool("ledger__lookup", {"key": "b"})) == "b: call 2"
        assert (await received(client))["lookup"] == 2  # the refused calls never reached it


async def test_pinned_tools_stay_listed_as_themselves(gateway_factory):
    gw = await gateway_factory({"ledger": ledger(tools={"look*": {"pinned": True}})}, tool_search=True)
    await wait_for(running(gw, "ledger"))
    async with Client(gw.url, mode="legacy") as client:
        assert [t.name for t in (await client.list_tools()).tools] == [*GATEWAY_TOOLS, "ledger__lookup"]


async def test_a_restricted_key_never_sees_tools_outside_its_list_in_search_either(secured_gateway):
    from app.secrets import client_keys

    services = await secured_gateway({"ledger": ledger(), "toy": stdio_child("toy.py")})
    await wait_for(running(services, "ledger", "toy"))
    key = await anyio.to_thread.run_sync(
        lambda: client_keys.add(services.config, "narrow", tools=["ledger__lookup", "toy__echo"], tool_search=True)
    )
    await wait_for(lambda: any(k.name == "narrow" for k in services.gateway.applied.gateway.client_keys))
    async with Client(with_key(services, key=key), mode="legacy") as narrow, Client(
        with_key(services), mode="legacy"
    ) as main:
        assert [t.name for t in (await main.list_tools()).tools] != GATEWAY_TOOLS  # search mode is the key's own
        assert [t.name for t in (await narrow.list_tools()).tools] == GATEWAY_TOOLS
        assert await search(narrow, "delete an item from the ledger", limit=10) == ["ledger__lookup"]
        assert "toy__pid" not in await search(narrow, "process id", limit=10)
        hidden = await narrow.call_tool("switchboard__get_tool", {"name": "ledger__delete_item"})
        assert hidden.is_error and "There is no tool named 'ledger__delete_item' here" in text(hidden)
        through = await narrow.call_tool("switchboard__call_tool", {"name": "toy__pid", "arguments": {}})
        assert through.is_error
        with pytest.raises(MCPError, match="Unknown tool: ledger__write_note"):
            await narrow.call_tool("ledger__write_note", {})
        assert (await received(main)).get("write_note") is None


async def test_search_mode_follows_the_config_without_a_restart(gateway_factory):
    gw = await gateway_factory({"ledger": ledger()})
    await wait_for(running(gw, "ledger"))
    async with Client(gw.url, mode="legacy") as client:
        assert "ledger__lookup" in [t.name for t in (await client.list_tools()).tools]
        await gw.write_config(lambda raw: raw["gateway"].update(tool_search=True))
        assert [t.name for t in (await client.list_tools()).tools] == GATEWAY_TOOLS
