"""Parity: the same scenario against a child directly and through the gateway sees the same results.

The children are our toy server and two third-party servers: `mcp-server-time` (PyPI) and
`@modelcontextprotocol/server-everything` (npm, installed by `make test` into tests/node).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client

from tests.conftest import PYTHON, SERVERS, running, wait_for

pytestmark = pytest.mark.anyio

EVERYTHING = (
    Path(__file__).resolve().parents[1] / "node/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
)
TIME_SERVER = Path(sys.executable).parent / "mcp-server-time"
NODE = shutil.which("node")


def dump(model: Any) -> Any:
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)


def unprefix(items: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return sorted(({**i, "name": i["name"].removeprefix(prefix)} for i in items), key=lambda i: i["name"])


async def scenario(client: Client, prefix: str, calls: list[tuple[str, dict[str, Any]]], prompts=()) -> dict[str, Any]:
    """What a client sees, with the gateway's prefix taken off so the two views compare."""
    seen: dict[str, Any] = {"tools": unprefix([dump(t) for t in (await client.list_tools()).tools], prefix)}
    for name, args in calls:
        seen[f"call {name}"] = dump(await client.call_tool(prefix + name, args))
    caps = client.session.server_capabilities
    if caps and caps.prompts:
        seen["prompts"] = unprefix([dump(p) for p in (await client.list_prompts()).prompts], prefix)
        for name, args in prompts:
            seen[f"prompt {name}"] = dump(await client.get_prompt(prefix + name, args))
    if caps and caps.resources:
        resources = (await client.list_resources()).resources
        seen["resources"] = sorted(str(r.uri) for r in resources)
        if resources:
            seen["read"] = dump(await client.read_resource(str(resources[0].uri)))
    return seen


async def assert_parity(gateway_factory, name: str, params: StdioServerParameters, calls, prompts=()) -> None:
    # The gateway offers its children sampling, elicitation and roots (relayed to its own clients), and
    # some servers list tools by what the client offers: the direct client offers the same.
    async def unused(*args: Any) -> Any:
        raise AssertionError("not called in these scenarios")

    offers = {"sampling_callback": unused, "elicitation_callback": unused, "list_roots_callback": unused}
    async with Client(params, mode="legacy", **offers) as direct:
        expected = await scenario(direct, "", calls, prompts)
    gw = await gateway_factory({name: {"command": params.command, "args": params.args}})
    await wait_for(running(gw, name), timeout=60)
    async with Client(gw.url, mode="legacy") as merged:
        assert await scenario(merged, f"{name}__", calls, prompts) == expected
    async with Client(f"{gw.base_url}/servers/{name}/mcp", mode="legacy") as alone:
        assert await scenario(alone, "", calls, prompts) == expected
    async with Client(sse_client(f"{gw.base_url}/sse"), mode="legacy") as over_sse:
        assert await scenario(over_sse, f"{name}__", calls, prompts) == expected


async def test_parity_toy(gateway_factory):
    params = StdioServerParameters(command=PYTHON, args=[str(SERVERS / "toy.py")])
    calls = [("echo", {"text": "same"}), ("fails", {})]
    await assert_parity(gateway_factory, "toy", params, calls, prompts=[("greet", {"who": "Ada"})])


@pytest.mark.skipif(not TIME_SERVER.exists(), reason="mcp-server-time is installed by `make test`")
async def test_parity_mcp_server_time(gateway_factory):
    params = StdioServerParameters(command=str(TIME_SERVER), args=["--local-timezone", "UTC"])
    calls = [("convert_time", {"source_timezone": "Europe/Paris", "time": "12:30", "target_timezone": "Asia/Tokyo"})]
    await assert_parity(gateway_factory, "time", params, calls)


@pytest.mark.skipif(not (NODE and EVERYTHING.exists()), reason="server-everything is installed by `make test`")
async def test_parity_server_everything(gateway_factory):
    params = StdioServerParameters(command=NODE, args=[str(EVERYTHING), "stdio"])
    calls = [("echo", {"message": "hi"}), ("get-sum", {"a": 2, "b": 3})]
    await assert_parity(gateway_factory, "everything", params, calls, prompts=[("simple-prompt", {})])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not (NODE and EVERYTHING.exists()), reason="server-everything is installed by `make test`")
@pytest.mark.parametrize("mode", ["streamableHttp", "sse"])
async def test_remote_child_over_each_transport(gateway_factory, mode):
    """A remote child with no transport set: Streamable HTTP is tried first, then legacy SSE."""
    port = free_port()
    proc = subprocess.Popen(
        [NODE, str(EVERYTHING), mode],
        env={"PORT": str(port), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        path = "/mcp" if mode == "streamableHttp" else "/sse"
        await wait_for(lambda: _listening(port), timeout=20)
        gw = await gateway_factory({"remote": {"url": f"http://127.0.0.1:{port}{path}"}})
        await wait_for(running(gw, "remote"), timeout=30)
        async with Client(gw.url, mode="legacy") as client:
            result = await client.call_tool("remote__echo", {"message": "far away"})
            assert "far away" in result.content[0].text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
