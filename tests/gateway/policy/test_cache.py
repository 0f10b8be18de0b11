"""The response cache with a real child that counts its calls: hits never reach it, and only read-only
(or explicitly listed) tools are ever kept."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from app.gateway import CallRecorded
from tests.conftest import running, wait_for, with_key
from tests.gateway.policy.conftest import ledger, received, text

pytestmark = pytest.mark.anyio


async def test_two_identical_read_only_calls_within_the_ttl_reach_the_child_once(gateway_factory):
    gw = await gateway_factory({"ledger": ledger(cache_ttl_s=300)})
    await wait_for(running(gw, "ledger"))
    recorded: list = []
    gw.bus.subscribe(lambda e: recorded.append(e.record) if isinstance(e, CallRecorded) else None)
    async with Client(gw.url, mode="legacy") as client:
        first = await client.call_tool("ledger__lookup", {"key": "a"})
        second = await client.call_tool("ledger__lookup", {"key": "a"})
        other = await client.call_tool("ledger__lookup", {"key": "b"})
        assert text(first) == text(second) == "a: call 1"
        assert text(other) == "b: call 2"
        assert (await received(client))["lookup"] == 2
    await wait_for(lambda: len([r for r in recorded if r.original == "lookup"]) == 3)
    lookups = [r for r in recorded if r.original == "lookup"]
    assert [r.cached for r in lookups] == [False, True, False]  # the history says which answer was cached
    stats = gw.policy.cache.stats["ledger"]
    assert (stats.hits, stats.misses, stats.entries) == (1, 2, 2)


async def test_a_tool_that_is_not_read_only_is_never_cached(gateway_factory):
    gw = await gateway_factory({"ledger": ledger(cache_ttl_s=300)})
    await wait_for(running(gw, "ledger"))
    async with Client(gw.url, mode="legacy") as client:
        for _ in range(2):
            await client.call_tool("ledger__write_note", {"note": "same"})
        assert (await received(client))["write_note"] == 2


async def test_a_tool_listed_with_a_ttl_is_cached_though_it_says_nothing(gateway_factory):
    gw = await gateway_factory({"ledger": ledger(tools={"write_*": {"cache_ttl_s": 300}})})
    await wait_for(running(gw, "ledger"))
    async with Client(gw.url, mode="legacy") as client:
        for _ in range(2):
            await client.call_tool("ledger__write_note", {"note": "same"})
        await client.call_tool("ledger__lookup", {"key": "a"})  # read-only, but the server has no cache_ttl_s
        await client.call_tool("ledger__lookup", {"key": "a"})
        assert await received(client) == {"lookup": 2, "write_note": 1}


async def test_list_changed_empties_the_servers_cache(gateway_factory):
    gw = await gateway_factory({"ledger": ledger(cache_ttl_s=300)})
    await wait_for(running(gw, "ledger"))
    async with Client(gw.url, mode="legacy") as client:
        await client.call_tool("ledger__lookup", {"key": "a"})
        assert len(gw.policy.cache) == 1
        await client.call_tool("ledger__add_tool", {})  # the child sends tools/list_changed
        await wait_for(lambda: "ledger__extra_0" in gw.catalog.tool_routes)
        assert len(gw.policy.cache) == 0
        assert text(await client.call_tool("ledger__lookup", {"key": "a"})) == "a: call 2"


async def test_a_config_change_for_the_server_empties_its_cache_without_a_restart(gateway_factory):
    gw = await gateway_factory({"ledger": ledger(cache_ttl_s=300)})
    await wait_for(running(gw, "ledger"))
    pid = gw.supervisors["ledger"].running_since
    async with Client(gw.url, mode="legacy") as client:
        await client.call_tool("ledger__lookup", {"key": "a"})
        assert len(gw.policy.cache) == 1
        await gw.write_config(lambda raw: raw["mcpServers"]["ledger"].update(cache_ttl_s=600))
        assert len(gw.policy.cache) == 0
        assert gw.supervisors["ledger"].running_since == pid  # call settings alone never restart a server
        assert text(await client.call_tool("ledger__lookup", {"key": "a"})) == "a: call 2"


async def test_different_key_scopes_do_not_share_entries(secured_gateway):
    from app.secrets import client_keys

    services = await secured_gateway({"ledger": ledger(cache_ttl_s=300)})
    await wait_for(running(services, "ledger"))
    key = await anyio.to_thread.run_sync(lambda: client_keys.add(services.config, "cursor"))
    await wait_for(lambda: any(k.name == "cursor" for k in services.gateway.applied.gateway.client_keys))
    async with Client(with_key(services), mode="legacy") as main, Client(
        with_key(services, key=key), mode="legacy"
    ) as cursor:
        assert text(await main.call_tool("ledger__lookup", {"key": "a"})) == "a: call 1"
        assert text(await cursor.call_tool("ledger__lookup", {"key": "a"})) == "a: call 2"  # not main's answer
        assert text(await cursor.call_tool("ledger__lookup", {"key": "a"})) == "a: call 2"  # its own, cached
        assert (await received(main))["lookup"] == 2


async def test_cache_counts_reach_metrics(secured_gateway):
    import httpx2

    services = await secured_gateway({"ledger": ledger(cache_ttl_s=300)})
    await wait_for(running(services, "ledger"))
    async with Client(with_key(services), mode="legacy") as client:
        for _ in range(3):
            await client.call_tool("ledger__lookup", {"key": "a"})
    key = await anyio.to_thread.run_sync(services.main_key.value)
    async with httpx2.AsyncClient() as http:
        body = (await http.get(f"{services.gateway.base_url}/metrics", headers={"Authorization": f"Bearer {key}"})).text
    assert 'switchboard_cache_hits_total{server="ledger"} 2.0' in body
    assert 'switchboard_cache_misses_total{server="ledger"} 1.0' in body


async def test_the_cache_is_bounded_in_bytes_least_recently_used_out(gateway_factory):
    """A tiny cache (gateway.cache_max_mb) keeps the newest answers; the evictions are counted."""
    gw = await gateway_factory({"ledger": ledger(cache_ttl_s=300)}, cache_max_mb=0.0003)  # ~300 bytes
    await wait_for(running(gw, "ledger"))
    async with Client(gw.url, mode="legacy") as client:
        for key in ("a", "b", "c", "d", "e"):
            await client.call_tool("ledger__lookup", {"key": key})
        assert gw.policy.cache.size <= 315
        assert gw.policy.cache.stats["ledger"].evictions >= 1
        assert text(await client.call_tool("ledger__lookup", {"key": "e"})) == "e: call 5"  # the newest stayed
        assert text(await client.call_tool("ledger__lookup", {"key": "a"})) == "a: call 6"  # the oldest went


async def test_a_2026_era_childs_ttl_ms_and_public_cache_scope_are_honoured(secured_gateway):
    """The modern ledger answers resources/read with ttlMs and cacheScope "public": one key's read serves
    another's; the handshake-era ledger says nothing, so each key keeps its own."""
    from app.secrets import client_keys

    services = await secured_gateway(
        {"modern": ledger("--modern-only", cache_ttl_s=300), "legacy": ledger(cache_ttl_s=300)}
    )
    await wait_for(running(services, "modern", "legacy"))
    key = await anyio.to_thread.run_sync(lambda: client_keys.add(services.config, "other"))
    await wait_for(lambda: any(k.name == "other" for k in services.gateway.applied.gateway.client_keys))
    async with Client(with_key(services), mode="legacy") as main, Client(
        with_key(services, key=key), mode="legacy"
    ) as other:
        resources = [str(r.uri) for r in (await main.list_resources()).resources]  # both servers' ledger://note
        assert len(resources) == 2
        reads = {}
        for uri in resources:
            first = (await main.read_resource(uri)).contents[0].text
            second = (await other.read_resource(uri)).contents[0].text
            reads[uri] = (first, second)
    modern = next(u for u in resources if "modern" in u)
    legacy = next(u for u in resources if "legacy" in u)
    assert reads[modern] == ("read 1", "read 1")  # public: shared across keys
    assert reads[legacy] == ("read 1", "read 2")  # private (no hint): each key its own
