"""allow / deny / ask with a real gateway, the ledger child (a destructive and a read-only tool) and SDK clients:
what the child sees, the errors' wording, who decided (in the history), "always", independent waits, a
client that goes away, and `switchboard approve ID` against a real background gateway."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from app.gateway import ApprovalSettled, CallRecorded
from tests.conftest import running, wait_for
from tests.gateway.policy.conftest import ledger, received, text

pytestmark = pytest.mark.anyio


def records(gw: Any) -> list[Any]:
    kept: list[Any] = []
    gw.bus.subscribe(lambda e: kept.append(e.record) if isinstance(e, CallRecorded) else None)
    return kept


async def outcome(client: Client, tool: str, arguments: dict[str, Any], into: dict[str, str], label: str) -> None:
    try:
        into[label] = text(await client.call_tool(tool, arguments))
    except MCPError as exc:
        into[label] = "refused: " + exc.error.message


async def test_allow_passes_and_deny_refuses_without_the_child_seeing_it(gateway_factory):
    tools = {"delete_*": {"policy": "deny"}, "write_note": {"policy": "allow"}}
    gw = await gateway_factory({"ledger": ledger(tools=tools)})
    await wait_for(running(gw, "ledger"))
    kept = records(gw)
    async with Client(gw.url, mode="legacy") as client:
        assert text(await client.call_tool("ledger__write_note", {"note": "x"})) == "written"
        with pytest.raises(MCPError) as refused:
            await client.call_tool("ledger__delete_item", {"id": 1})
        assert refused.value.error.message == (
            "Refused by policy: ledger__delete_item on server 'ledger' may not be called "
            "(mcpServers.ledger.tools.delete_*.policy is deny)"
        )
        assert await received(client) == {"write_note": 1}
    await wait_for(lambda: len(kept) >= 2)
    deleted = next(r for r in kept if r.original == "delete_item")
    assert (deleted.status, deleted.decided_by) == ("refused", "policy")
    assert next(r for r in kept if r.original == "write_note").decided_by == "policy"


async def test_ask_waits_then_approve_lets_it_through_and_deny_refuses(gateway_factory):
    """delete_item says destructiveHint: the default policy (ask-destructive) asks; lookup is never asked."""
    gw = await gateway_factory({"ledger": ledger()})
    await wait_for(running(gw, "ledger"))
    kept = records(gw)
    ended: dict[str, str] = {}
    async with Client(gw.url, mode="legacy") as client:
        assert text(await client.call_tool("ledger__lookup", {"key": "a"})) == "a: call 1"
        async with anyio.create_task_group() as tg:
            tg.start_soon(outcome, client, "ledger__delete_item", {"id": 7, "password": "hunter2"}, ended, "first")
            await wait_for(lambda: len(gw.policy.approvals.pending()) == 1)
            waiting = gw.policy.approvals.pending()[0]
            assert (waiting.tool, waiting.server, waiting.key_name) == ("ledger__delete_item", "ledger", "main")
            assert waiting.arguments == {"id": 7, "password": "••••••"}  # shown masked
            assert "delete_item" not in await received(client)  # still waiting: the child has not seen it
            await gw.policy.answer(waiting.id, "approve")
        assert ended["first"] == "deleted 7"
        async with anyio.create_task_group() as tg:
            tg.start_soon(outcome, client, "ledger__delete_item", {"id": 8}, ended, "second")
            await wait_for(lambda: len(gw.policy.approvals.pending()) == 1)
            await gw.policy.answer(gw.policy.approvals.pending()[0].id, "deny")
        assert ended["second"] == "refused: Refused: ledger__delete_item on server 'ledger' was denied in Switchboard"
        assert (await received(client))["delete_item"] == 1
    await wait_for(lambda: len([r for r in kept if r.original == "delete_item"]) == 2)
    decided = [(r.status, r.decided_by) for r in kept if r.original == "delete_item"]
    assert decided == [("ok", "user"), ("refused", "user")]


async def test_an_unanswered_approval_times_out_and_is_refused(gateway_factory):
    gw = await gateway_factory({"ledger": ledger()}, approval_timeout_s=0.5)
    await wait_for(running(gw, "ledger"))
    kept = records(gw)
    async with Client(gw.url, mode="legacy") as client:
        with pytest.raises(MCPError) as refused:
            await client.call_tool("ledger__delete_item", {"id": 1})
        assert refused.value.error.message == (
            "Refused: ledger__delete_item on server 'ledger' waited 0.5 s for approval in Switchboard and was not "
            "approved (gateway.approval_timeout_s)"
        )
        assert "delete_item" not in await received(client)
    await wait_for(lambda: any(r.original == "delete_item" for r in kept))
    record = next(r for r in kept if r.original == "delete_item")
    assert (record.status, record.decided_by) == ("refused", "timeout")


async def test_always_writes_the_policy_and_the_next_call_is_not_asked(gateway_factory):
    gw = await gateway_factory({"ledger": ledger()})
    await wait_for(running(gw, "ledger"))
    ended: dict[str, str] = {}
    async with Client(gw.url, mode="legacy") as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(outcome, client, "ledger__delete_item", {"id": 1}, ended, "asked")
            await wait_for(lambda: len(gw.policy.approvals.pending()) == 1)
            await gw.policy.answer(gw.policy.approvals.pending()[0].id, "always")
        assert ended["asked"] == "deleted 1"
        on_disk = json.loads(gw.config_path.read_text())
        assert on_disk["mcpServers"]["ledger"]["tools"] == {"delete_item": {"policy": "allow"}}
        assert text(await client.call_tool("ledger__delete_item", {"id": 2})) == "deleted 2"  # not asked again
        assert gw.policy.approvals.pending() == []


async def test_two_clients_waiting_at_once_are_answered_independently(gateway_factory):
    gw = await gateway_factory({"ledger": ledger()})
    await wait_for(running(gw, "ledger"))
    ended: dict[str, str] = {}
    async with Client(gw.url, mode="legacy") as a, Client(gw.url, mode="legacy") as b:
        async with anyio.create_task_group() as tg:
            tg.start_soon(outcome, a, "ledger__delete_item", {"id": 1}, ended, "a")
            await wait_for(lambda: len(gw.policy.approvals.pending()) == 1)
            tg.start_soon(outcome, b, "ledger__delete_item", {"id": 2}, ended, "b")
            await wait_for(lambda: len(gw.policy.approvals.pending()) == 2)
            first, second = gw.policy.approvals.pending()
            assert first.arguments == {"id": 1} and second.arguments == {"id": 2}
            await gw.policy.answer(second.id, "approve")
            await wait_for(lambda: "b" in ended)
            assert "a" not in ended and [p.id for p in gw.policy.approvals.pending()] == [first.id]
            await gw.policy.answer(first.id, "deny")
        assert ended == {"b": "deleted 2", "a": "refused: Refused: ledger__delete_item on server 'ledger' was denied "
                         "in Switchboard"}  # fmt: skip


async def test_a_client_that_goes_away_while_waiting_withdraws_its_call(gateway_factory):
    gw = await gateway_factory({"ledger": ledger()})
    await wait_for(running(gw, "ledger"))
    settled: list[ApprovalSettled] = []
    gw.bus.subscribe(lambda e: settled.append(e) if isinstance(e, ApprovalSettled) else None)
    kept = records(gw)

    async def leaves() -> None:
        async with Client(gw.url, mode="legacy") as client:
            await client.call_tool("ledger__delete_item", {"id": 1})

    async with anyio.create_task_group() as tg:
        tg.start_soon(leaves)
        await wait_for(lambda: len(gw.policy.approvals.pending()) == 1)
        tg.cancel_scope.cancel()  # the client goes away mid-wait: its connection closes
    await wait_for(lambda: not gw.policy.approvals.pending(), what="the call to be withdrawn")
    assert [(s.outcome, s.decided_by) for s in settled] == [("withdrawn", None)]
    await wait_for(lambda: any(r.original == "delete_item" for r in kept))
    assert next(r for r in kept if r.original == "delete_item").status == "cancelled"
    async with Client(gw.url, mode="legacy") as client:
        assert "delete_item" not in await received(client)


def test_approve_and_deny_from_the_cli_headless(isolated_home: Path) -> None:
    """A real background gateway (`switchboard start`), a client waiting on it, and the CLI answering."""
    from tests.daemon.processes import home_config, no_leftovers, switchboard, tree, wait_until

    home = isolated_home
    home_config(home, {"ledger": ledger()})
    with no_leftovers() as watched:
        started = switchboard("start", home=home)
        assert started.returncode == 0, started.stderr
        try:
            from app.daemon.instance import running_instance

            info = running_instance(home / "state")
            assert info is not None and info.url
            watched.watch(tree(info.pid))
            empty = switchboard("approvals", home=home)
            assert (empty.returncode, empty.stderr.strip()) == (0, "No call waits for approval.")
            key = (home / "config" / "api-key").read_text().strip()  # the fail keyring: a 0600 file
            url = f"{info.url}?api_key={key}"
            ended: dict[str, str] = {}

            async def scenario() -> None:
                async with Client(url, mode="legacy") as client, anyio.create_task_group() as tg:
                    tg.start_soon(outcome, client, "ledger__delete_item", {"id": 1}, ended, "approved")
                    tg.start_soon(outcome, client, "ledger__delete_item", {"id": 2}, ended, "denied")
                    listed = await anyio.to_thread.run_sync(lambda: wait_until(lambda: _two_waiting(home), "2 waiting"))
                    by_argument = {item["arguments"]["id"]: item["id"] for item in listed}
                    approve = await anyio.to_thread.run_sync(lambda: switchboard("approve", by_argument[1], home=home))
                    assert approve.returncode == 0, approve.stderr
                    assert approve.stderr.startswith("Approved: ledger__delete_item from ")
                    deny = await anyio.to_thread.run_sync(lambda: switchboard("deny", by_argument[2], home=home))
                    assert deny.returncode == 0, deny.stderr
                    again = await anyio.to_thread.run_sync(lambda: switchboard("deny", by_argument[2], home=home))
                    assert again.returncode == 1
                    assert "No call waits for approval under the id" in again.stderr

            anyio.run(scenario)
            assert ended == {"approved": "deleted 1",
                             "denied": "refused: Refused: ledger__delete_item on server 'ledger' was denied in "
                                       "Switchboard"}  # fmt: skip
        finally:
            switchboard("stop", home=home)


def _two_waiting(home: Path) -> list[dict[str, Any]] | None:
    from tests.daemon.processes import switchboard

    listed = switchboard("approvals", "--json", home=home)
    items = json.loads(listed.stdout) if listed.returncode == 0 else []
    return items if len(items) == 2 else None


def test_the_cli_says_when_nothing_runs(isolated_home: Path) -> None:
    from tests.daemon.processes import switchboard

    done = switchboard("approve", "abc123", home=isolated_home)
    assert done.returncode == 1
    assert done.stderr.startswith("switchboard: Switchboard is not running, so no call waits for approval")
    assert "Traceback" not in done.stderr


async def test_a_waiting_call_gets_progress_keep_alives_when_its_client_asked_for_progress(gateway_factory):
    gw = await gateway_factory({"ledger": ledger()})
    await wait_for(running(gw, "ledger"))
    heard: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.append((progress, message))

    ended: dict[str, str] = {}
    async with Client(gw.url, mode="legacy") as client:

        async def asks() -> None:
            answer = await client.call_tool("ledger__delete_item", {"id": 3}, progress_callback=on_progress)
            ended["done"] = text(answer)

        async with anyio.create_task_group() as tg:
            tg.start_soon(asks)
            await wait_for(lambda: bool(heard), what="a keep-alive")
            approval = gw.policy.approvals.pending()[0]
            assert heard[0][1] == f"Waiting for approval in Switchboard (switchboard approve {approval.id})"
            await gw.policy.answer(approval.id, "approve")
    assert ended == {"done": "deleted 3"}
