"""The stdio bridge as Claude Desktop runs it: a real `switchboard stdio` process, spoken to with the SDK's
stdio client, relaying to a real gateway found through the runtime file. Also across a gateway restart."""

from __future__ import annotations

import os
import socket
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import keyring
import keyring.backends.fail
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from app import paths
from app.daemon.instance import InstanceLock, RuntimeInfo
from app.launch import build_services
from tests.conftest import ROOT, keyring_backend, running, stdio_child, wait_for, write_config

pytestmark = pytest.mark.anyio
FAIL_KEYRING = "keyring.backends.fail.Keyring"


def bridge_params(*extra: str) -> StdioServerParameters:
    """Exactly what a client's config runs: this Switchboard's command plus `stdio`."""
    command = paths.self_command()
    env = {"SWITCHBOARD_HOME": os.environ["SWITCHBOARD_HOME"], "PYTHON_KEYRING_BACKEND": FAIL_KEYRING,
           "PATH": os.environ["PATH"]}
    return StdioServerParameters(command=command[0], args=[*command[1:], "stdio", *extra], env=env, cwd=str(ROOT))


class Published:
    """Gateways as the tray or the daemon runs them: in the runtime file, so the bridge finds them."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.services: Any = None
        self.lock = InstanceLock(paths.state_dir())

    async def start(self, servers: dict[str, Any]) -> Any:
        path = write_config(self.tmp / "config.json", servers)
        # The config beside the default one: the bridge reads the key from where `show-key` does.
        paths.default_config_path().parent.mkdir(parents=True, exist_ok=True)
        if not paths.default_config_path().exists():
            paths.default_config_path().write_bytes(path.read_bytes())
        self.services = build_services(paths.default_config_path())
        await self.services.gateway.start()
        info = RuntimeInfo.for_this_process(mode="headless", config=str(path), url=self.services.gateway.url,
                                            port=self.services.gateway.port)
        if self.lock.held:
            self.lock.update(url=info.url, port=info.port)
        else:
            assert self.lock.acquire(info) is None
        return self.services.gateway

    async def stop(self) -> None:
        if self.services is not None:
            await self.services.gateway.stop()
            self.services.close()
            self.services = None


@asynccontextmanager
async def published(tmp_path: Path):
    gateways = Published(tmp_path)
    with keyring_backend(keyring.backends.fail.Keyring()):  # the key in the 0600 file, which the bridge reads
        try:
            yield gateways
        finally:
            await gateways.stop()
            gateways.lock.release()


async def test_the_bridge_relays_calls_progress_sampling_and_list_changes(tmp_path):
    async with published(tmp_path) as gateways:
        gw = await gateways.start({"toy": stdio_child("toy.py")})
        await wait_for(running(gw, "toy"))
        changed = anyio.Event()
        progress: list[float] = []

        async def on_message(message: Any) -> None:
            if isinstance(message, types.ToolListChangedNotification):
                changed.set()

        async def sampling(ctx: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
            content = types.TextContent(type="text", text=f"echo of {params.messages[0].content.text}")
            return types.CreateMessageResult(role="assistant", content=content, model="m")

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append(value)

        async with Client(bridge_params(), mode="legacy", message_handler=on_message, sampling_callback=sampling) as c:
            with anyio.fail_after(60):
                names = {t.name for t in (await c.list_tools()).tools}
                assert {"toy__echo", "toy__slow", "toy__ask"} <= names
                assert (await c.call_tool("toy__echo", {"text": "through the bridge"})).content[0].text == (
                    "through the bridge"
                )
                slow = await c.call_tool("toy__slow", {"seconds": 0.2}, progress_callback=on_progress)
                assert slow.content[0].text == "slept 0.2" and progress == [0, 1, 2, 3]
                assert (await c.call_tool("toy__ask", {"prompt": "hi"})).content[0].text == "model said: echo of hi"
                await c.call_tool("toy__add_tool", {"name": "fresh"})
                await changed.wait()
                assert "toy__fresh" in {t.name for t in (await c.list_tools()).tools}
                with pytest.raises(MCPError) as caught:
                    await c.call_tool("toy__nope", {})
                assert caught.value.error.message == "Unknown tool: toy__nope"
            assert [client.name for client in gw.clients()] == ["mcp"]  # the bridge brings the client's own name


async def test_the_bridge_survives_a_gateway_restart(tmp_path):
    async with published(tmp_path) as gateways:
        gw = await gateways.start({"toy": stdio_child("toy.py")})
        await wait_for(running(gw, "toy"))
        changed = anyio.Event()

        async def on_message(message: Any) -> None:
            if isinstance(message, types.ToolListChangedNotification):
                changed.set()

        async with Client(bridge_params(), mode="legacy", message_handler=on_message) as client:
            with anyio.fail_after(90):
                assert (await client.call_tool("toy__echo", {"text": "before"})).content[0].text == "before"
                outcome: dict[str, str] = {}

                async def in_flight() -> None:
                    try:
                        await client.call_tool("toy__slow", {"seconds": 30})
                        outcome["result"] = "returned"
                    except MCPError as exc:
                        outcome["error"] = exc.error.message

                async with anyio.create_task_group() as tg:
                    tg.start_soon(in_flight)
                    await wait_for(lambda: bool(gw.connected._inflight.get("toy")))
                    await gateways.stop()  # an upgrade, a restart, a crash: the port is gone
                    gw = await gateways.start({"toy": stdio_child("toy.py")})
                await wait_for(running(gw, "toy"))
                assert ("error" in outcome and "toy" in outcome["error"]) or "Switchboard" in outcome["error"]
                await changed.wait()  # the client is told its lists may have changed
                assert (await client.call_tool("toy__echo", {"text": "after"})).content[0].text == "after"


async def test_the_bridge_says_why_when_no_gateway_can_be_reached(tmp_path):
    with socket.socket() as taken:  # the port the gateway would bind is taken: `start` must fail
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {"SWITCHBOARD_HOME": os.environ["SWITCHBOARD_HOME"], "PYTHON_KEYRING_BACKEND": FAIL_KEYRING,
               "PATH": os.environ["PATH"], "SWITCHBOARD_PORT": str(taken.getsockname()[1])}
        params = StdioServerParameters(command=sys.executable, args=["-m", "app", "stdio"], env=env, cwd=str(ROOT))
        with anyio.fail_after(120), pytest.raises(BaseException) as caught:
            async with Client(params, mode="legacy") as client:  # its initialize is answered with the reason
                await client.list_tools()
    error = caught.value
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    assert isinstance(error, MCPError), error
    assert error.error.message.startswith("Switchboard could not be started: Port "), error.error.message
    assert "is in use by another program" in error.error.message


@pytest.mark.parametrize("child", ["toy", "everything"])
async def test_parity_directly_through_mcp_and_through_the_bridge(tmp_path, child):
    """The same scenario against the child directly, through /mcp, and through the bridge: identical."""
    from tests.gateway.test_parity import EVERYTHING, NODE, PYTHON, SERVERS, scenario

    if child == "toy":
        params = StdioServerParameters(command=PYTHON, args=[str(SERVERS / "toy.py")])
        calls, prompts = [("echo", {"text": "same"}), ("fails", {})], [("greet", {"who": "Ada"})]
    else:
        if not (NODE and EVERYTHING.exists()):
            pytest.skip("server-everything is installed by `make test`")
        params = StdioServerParameters(command=NODE, args=[str(EVERYTHING), "stdio"])
        calls, prompts = [("echo", {"message": "hi"}), ("get-sum", {"a": 2, "b": 3})], [("simple-prompt", {})]

    async def unused(*args: Any) -> Any:
        raise AssertionError("not called in these scenarios")

    offers = {"sampling_callback": unused, "elicitation_callback": unused, "list_roots_callback": unused}
    async with Client(params, mode="legacy", **offers) as direct:
        expected = await scenario(direct, "", calls, prompts)
    async with published(tmp_path) as gateways:
        gw = await gateways.start({child: {"command": params.command, "args": params.args}})
        await wait_for(running(gw, child), timeout=60)
        key = gateways.services.main_key.value()
        async with Client(f"{gw.url}?api_key={key}", mode="legacy") as merged:
            assert await scenario(merged, f"{child}__", calls, prompts) == expected
        async with Client(bridge_params(), mode="legacy", **offers) as bridged:
            assert await scenario(bridged, f"{child}__", calls, prompts) == expected
        async with Client(bridge_params("--server", child), mode="legacy", **offers) as alone:
            assert await scenario(alone, "", calls, prompts) == expected


async def test_the_first_list_through_the_bridge_has_a_server_that_is_still_starting(tmp_path):
    """Claude Desktop ignores list_changed: its first list must already hold every server's tools."""
    async with published(tmp_path) as gateways:
        await gateways.start({"slow": stdio_child("misbehave.py", "--slow-start", "2"), "toy": stdio_child("toy.py")})
        async with Client(bridge_params(), mode="legacy") as client:
            names = {t.name for t in (await client.list_tools()).tools}
        assert {"slow__ok", "toy__echo"} <= names
