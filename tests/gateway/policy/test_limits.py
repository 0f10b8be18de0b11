"""Rate limits, the concurrency queue and per-tool timeouts, each with a real child: the errors' wording,
the child never seeing a refused call, and nothing hanging."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from app.gateway import CallRecorded
from tests.conftest import running, wait_for, with_key
from tests.gateway.policy.conftest import ledger, received, text

pytestmark = pytest.mark.anyio


async def test_a_server_rate_limit_refuses_with_the_limit_and_when_to_retry(gateway_factory):
    gw = await gateway_factory({"ledger": ledger(rate_limit={"per_minute": 1, "burst": 2})})
    await wait_for(running(gw, "ledger"))
    async with Client(gw.url, mode="legacy") as client:
        await client.call_tool("ledger__write_note", {})
        await client.call_tool("ledger__write_note", {})
        with pytest.raises(MCPError) as refused:
            await client.call_tool("ledger__write_note", {})
    error = refused.value.error
    assert error.message.startswith("Refused by the rate limit of server 'ledger' (1 calls/min, burst 2): retry in ")
    assert 0 < error.data["retry_after_s"] <= 60
    gw.applied.mcpServers["ledger"].rate_limit = None  # the counting call below must pass
    async with Client(gw.url, mode="legacy") as client:
        assert (await received(client))["write_note"] == 2  # the child never saw the third


async def test_a_tool_globs_rate_limit_applies_to_those_tools_only(gateway_factory):
    gw = await gateway_factory({"ledger": ledger(tools={"write_*": {"rate_limit": {"per_minute": 1, "burst": 1}}})})
    await wait_for(running(gw, "ledger"))
    async with Client(gw.url, mode="legacy") as client:
        await client.call_tool("ledger__write_note", {})
        with pytest.raises(MCPError, match=r"rate limit of tools 'write_\*' of server 'ledger'"):
            await client.call_tool("ledger__write_note", {})
        await client.call_tool("ledger__lookup", {"key": "a"})  # another tool is not limited
        assert await received(client) == {"lookup": 1, "write_note": 1}


async def test_a_keys_rate_limit_counts_across_servers_and_not_other_keys(secured_gateway):
    from app.secrets import client_keys

    services = await secured_gateway({"ledger": ledger(), "other": ledger()})
    await wait_for(running(services, "ledger", "other"))
    key = await anyio.to_thread.run_sync(
        lambda: client_keys.add(services.config, "script", rate_limit={"per_minute": 2, "burst": 2})
    )
    await wait_for(lambda: any(k.name == "script" for k in services.gateway.applied.gateway.client_keys))
    async with Client(with_key(services, key=key), mode="legacy") as limited, Client(
        with_key(services), mode="legacy"
    ) as main:
        await limited.call_tool("ledger__write_note", {})
        await limited.call_tool("other__write_note", {})
        with pytest.raises(MCPError, match=r"^Refused by the rate limit of key 'script' \(2 calls/min, burst 2\)"):
            await limited.call_tool("ledger__write_note", {})
        await main.call_tool("ledger__write_note", {})  # the main key has no such limit
        assert (await received(main))["write_note"] == 2


async def test_calls_past_the_queue_fail_at_once_and_queued_ones_wait_their_turn(gateway_factory):
    gw = await gateway_factory({"ledger": ledger(max_concurrency=1, queue_size=1)})
    await wait_for(running(gw, "ledger"))
    ended: dict[str, str] = {}
    async with Client(gw.url, mode="legacy") as client:
        async with anyio.create_task_group() as tg:

            async def call(label: str, seconds: float) -> None:
                try:
                    ended[label] = text(await client.call_tool("ledger__slow", {"seconds": seconds}))
                except MCPError as exc:
                    ended[label] = exc.error.message

            tg.start_soon(call, "first", 600)
            await wait_for(lambda: gw.policy.gates.load("ledger") == (1, 0))
            tg.start_soon(call, "queued", 0)
            await wait_for(lambda: gw.policy.gates.load("ledger") == (1, 1))
            with pytest.raises(MCPError) as busy:
                await client.call_tool("ledger__slow", {"seconds": 0})
            assert busy.value.error.message == (
                "The server 'ledger' is busy: 1 calls in flight (max_concurrency 1) and 1 waiting (queue_size 1), "
                "so this call was refused; try again shortly"
            )
            assert ended == {}  # the first still runs, the queued one still waits
            await gw.restart_child("ledger")  # the first call ends at once (its server stopped); the queued one next
        assert "stopped while handling the request" in ended["first"]
        assert "queued" in ended  # it got its turn (answered, or refused while the server restarted): no hang
        await wait_for(lambda: gw.policy.gates.load("ledger") == (0, 0))
        await wait_for(running(gw, "ledger"))
        assert text(await client.call_tool("ledger__slow", {"seconds": 0})) == "done"


async def test_a_per_tool_timeout_cancels_the_call_and_history_says_timed_out(gateway_factory):
    gw = await gateway_factory({"ledger": ledger(timeout_s=300, tools={"slow": {"timeout_s": 0.5}})})
    await wait_for(running(gw, "ledger"))
    recorded: list = []
    gw.bus.subscribe(lambda e: recorded.append(e.record) if isinstance(e, CallRecorded) else None)
    async with Client(gw.url, mode="legacy") as client:
        with pytest.raises(MCPError) as late:
            await client.call_tool("ledger__slow", {"seconds": 60})
        assert "Server 'ledger' did not answer within 0.5 s" in late.value.error.message
        assert text(await client.call_tool("ledger__lookup", {"key": "a"})) == "a: call 1"  # the server serves on
    await wait_for(lambda: any(r.original == "slow" for r in recorded))
    assert next(r for r in recorded if r.original == "slow").status == "timed out"


async def test_a_server_in_backoff_is_not_listed_and_its_calls_fail_at_once(gateway_factory):
    gw = await gateway_factory({"ledger": ledger(), "broken": {"command": "/nonexistent/server"}})
    await wait_for(running(gw, "ledger"))
    await wait_for(lambda: gw.supervisors["broken"].state.value in ("backoff", "failed"))
    async with Client(gw.url, mode="legacy") as client:
        assert not any(t.name.startswith("broken__") for t in (await client.list_tools()).tools)
        with pytest.raises(MCPError, match=r"Server 'broken' is not running \((backoff|failed)"):
            await client.call_tool("broken__anything", {})
