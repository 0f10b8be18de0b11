"""A child that dies: in-flight calls answered at once with its name, backoff, recovery, no orphans."""

from __future__ import annotations

import os
import signal

import anyio
import psutil
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from app.gateway.children.supervisor import backoff_delay
from tests.conftest import running, stdio_child, wait_for

pytestmark = pytest.mark.anyio


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def child_pid(client: Client, tool: str = "toy__pid") -> int:
    return int((await client.call_tool(tool, {})).content[0].text)


async def test_kill_9_mid_call_answers_at_once_then_recovers(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py"), "other": stdio_child("toy.py")})
    await wait_for(running(gw, "toy", "other"))
    async with Client(gw.url, mode="legacy") as client:
        pid = await child_pid(client)
        outcome: dict[str, object] = {}

        async def slow_call() -> None:
            try:
                await client.call_tool("toy__slow", {"seconds": 60})
                outcome["result"] = "returned"
            except MCPError as exc:
                outcome["error"] = exc.error.message

        # The call would take 60 s; a dead child's answer comes at once, long before this bound.
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(slow_call)
                await wait_for(lambda: bool(gw.connected._inflight.get("toy")))
                os.kill(pid, signal.SIGKILL)
        assert "Server 'toy' stopped while handling the request" in str(outcome["error"])  # it names the server

        # The other child never noticed.
        assert gw.supervisors["other"].state.value == "running"
        assert (await client.call_tool("other__echo", {"text": "fine"})).content[0].text == "fine"

        # Backoff, with the reason and the next retry time, then recovery with a new process.
        await wait_for(lambda: gw.supervisors["toy"].state.value != "running")
        assert gw.supervisors["toy"].error == "the server process exited"
        await wait_for(running(gw, "toy"))
        assert gw.supervisors["toy"].error is None
        new_pid = await child_pid(client)
        assert new_pid != pid
        assert (await client.call_tool("toy__echo", {"text": "back"})).content[0].text == "back"


async def test_call_to_a_child_in_backoff_names_it(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py")})
    await wait_for(running(gw, "toy"))
    async with Client(gw.url, mode="legacy") as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("toy__crash", {})
        assert "toy" in caught.value.error.message
        await wait_for(lambda: gw.supervisors["toy"].state.value != "running")
        with pytest.raises(MCPError) as caught:
            await client.call_tool("toy__echo", {"text": "x"})
        assert "Server 'toy' is not running" in caught.value.error.message


def test_backoff_doubles_from_half_a_second_to_thirty():
    assert [backoff_delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff_delay(1, permanent=True) == 30


async def test_child_that_exits_at_start_backs_off_says_why_and_others_serve(gateway_factory):
    gw = await gateway_factory({"bad": stdio_child("toy.py", "--exit-at-start"), "good": stdio_child("toy.py")})
    await wait_for(running(gw, "good"))
    bad = gw.supervisors["bad"]
    backoffs: list[object] = []
    def on_event(e: object) -> None:
        if (getattr(e, "name", ""), getattr(e, "state", "")) == ("bad", "backoff"):
            backoffs.append(e)

    unsubscribe = gw.bus.subscribe(on_event)
    await wait_for(lambda: len(backoffs) >= 2, timeout=60)  # it is retried, again and again
    unsubscribe()
    assert bad.state.value in ("backoff", "starting")
    assert "refusing to start" in (bad.error or ""), bad.error  # the child's own last stderr line explains it
    assert all(e.next_retry_at is not None for e in backoffs)  # the panel shows when the next try is
    health = gw.health()
    assert health["status"] == "degraded"
    assert health["children"]["good"]["state"] == "running"
    async with Client(gw.url, mode="legacy") as client:
        assert (await client.call_tool("good__echo", {"text": "ok"})).content[0].text == "ok"
        names = {t.name for t in (await client.list_tools()).tools}
        assert not any(n.startswith("bad__") for n in names)


async def test_missing_command_is_failed_with_a_sentence(gateway_factory):
    gw = await gateway_factory({"ghost": {"command": "/nonexistent/mcp-server"}})
    await wait_for(lambda: gw.supervisors["ghost"].state.value == "failed")
    assert gw.supervisors["ghost"].error == "command not found: /nonexistent/mcp-server"
    assert gw.supervisors["ghost"].next_retry_at is not None


async def test_stop_leaves_no_orphan_processes(gateway_factory):
    gw = await gateway_factory({"a": stdio_child("toy.py"), "b": stdio_child("toy.py")})
    await wait_for(running(gw, "a", "b"))
    async with Client(gw.url, mode="legacy") as client:
        pids = [await child_pid(client, "a__pid"), await child_pid(client, "b__pid")]
    outcome: dict[str, str] = {}

    async def in_flight() -> None:
        async with Client(gw.url, mode="legacy") as client:
            try:
                await client.call_tool("a__slow", {"seconds": 60})
            except Exception as exc:
                outcome["error"] = str(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(in_flight)
        await wait_for(lambda: bool(gw.connected._inflight.get("a")))
        with anyio.fail_after(10):
            await gw.stop()
    assert "error" in outcome  # the in-flight call was answered, not left hanging
    await wait_for(lambda: all(gone(p) for p in pids), timeout=5)
    assert not [c for c in psutil.Process().children(recursive=True) if c.status() != psutil.STATUS_ZOMBIE]


async def test_stderr_goes_to_a_log_file_and_a_tail(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py")})
    await wait_for(running(gw, "toy"))
    async with Client(gw.url, mode="legacy") as client:
        await client.call_tool("toy__stderr", {"line": "a line for the log"})
    capture = gw.supervisors["toy"].stderr
    await wait_for(lambda: "a line for the log" in capture.tail)
    await wait_for(lambda: capture.path.exists() and "a line for the log" in capture.path.read_text())


async def test_unreachable_remote_server_backs_off_with_a_sentence(gateway_factory):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gw = await gateway_factory({"far": {"url": f"http://127.0.0.1:{port}/mcp"}, "near": stdio_child("toy.py")})
    await wait_for(running(gw, "near"))
    await wait_for(lambda: gw.supervisors["far"].state.value == "backoff", timeout=30)
    error = gw.supervisors["far"].error or ""
    assert error.startswith(f"cannot reach http://127.0.0.1:{port}/mcp"), error
    async with Client(gw.url, mode="legacy") as client:
        assert (await client.call_tool("near__echo", {"text": "unaffected"})).content[0].text == "unaffected"


async def test_a_failing_supervisor_fails_alone(gateway_factory, monkeypatch):
    """Guards the gateway against its own bugs: a supervisor that raises marks its server failed."""
    from app.gateway.children.supervisor import ChildSupervisor

    async def broken_run(self) -> None:
        if self.name == "broken":
            raise RuntimeError("boom")
        await original(self)

    original = ChildSupervisor.run
    monkeypatch.setattr(ChildSupervisor, "run", broken_run)
    gw = await gateway_factory({"broken": stdio_child("toy.py"), "fine": stdio_child("toy.py")})
    await wait_for(running(gw, "fine"))
    await wait_for(lambda: gw.supervisors["broken"].state.value == "failed")
    assert "boom" in (gw.supervisors["broken"].error or "")
    assert gw.state == "running"
    async with Client(gw.url, mode="legacy") as client:
        assert (await client.call_tool("fine__echo", {"text": "still"})).content[0].text == "still"
