"""Requests that misbehave: duplicate and invalid ids, oversized bodies, slow and too many connections,
abandoned sessions. Each gets a clear answer or a closed connection; nothing hangs."""

from __future__ import annotations

import socket

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from app.gateway.sdk.streamable import open_sessions
from tests.conftest import running, stdio_child, wait_for

pytestmark = pytest.mark.anyio
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
}


async def session(http: httpx2.AsyncClient, url: str) -> dict[str, str]:
    init = await http.post(url, json=INIT, headers=HEADERS)
    assert init.status_code == 200, init.text
    headers = {**HEADERS, "Mcp-Session-Id": init.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
    await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    return headers


def call(request_id: object, tool: str, arguments: dict | None = None) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments or {}}}


async def test_a_second_request_with_an_id_in_flight_is_refused_and_the_first_answered(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py")})
    await wait_for(running(gw, "toy"))
    async with httpx2.AsyncClient(timeout=30) as http:
        headers = await session(http, gw.url)
        answers: dict[str, httpx2.Response] = {}

        async def first() -> None:
            answers["first"] = await http.post(gw.url, json=call(6, "toy__slow", {"seconds": 1}), headers=headers)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(first)
                await wait_for(lambda: bool(gw.connected._inflight.get("toy")))
                for same in (6, "6"):  # "6" is the same id to the SDK
                    second = await http.post(gw.url, json=call(same, "toy__echo", {"text": "x"}), headers=headers)
                    assert second.status_code == 400
                    error = second.json()["error"]
                    assert error["code"] == -32600 and "already in flight on this session" in error["message"]
        assert "slept 1" in answers["first"].text  # the first was answered
        assert '"text":"x"' not in answers["first"].text.replace(" ", "")


@pytest.mark.parametrize("bad_id", ["1.5", "true", "null", "[1]", "1e308", '{"a": 1}'])
async def test_an_id_json_rpc_does_not_allow_gets_invalid_request(gateway_factory, bad_id):
    gw = await gateway_factory({"toy": stdio_child("toy.py")})
    await wait_for(running(gw, "toy"))
    body = f'{{"jsonrpc": "2.0", "id": {bad_id}, "method": "tools/list"}}'.encode()
    async with httpx2.AsyncClient(timeout=30) as http:
        headers = await session(http, gw.url)
        answer = await http.post(gw.url, content=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": answer.json()["error"]["message"]},
    }
    assert answer.json()["error"]["message"].startswith("Invalid Request: a request id must be a string or an integer")


async def test_an_oversized_body_is_a_json_rpc_error_naming_the_limit_and_the_setting(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py")}, max_body_bytes=64 * 1024)
    await wait_for(running(gw, "toy"))
    expected = (
        "The request body is larger than 64 KiB, the gateway's limit (gateway.max_body_bytes in the config file)."
    )
    async with Client(gw.url, mode="legacy") as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("toy__echo", {"text": "x" * 100_000})
        assert expected in caught.value.error.message  # what an SDK client shows its user
        assert (await client.call_tool("toy__echo", {"text": "small"})).content[0].text == "small"
    async with httpx2.AsyncClient(timeout=30) as http:  # a body sent in chunks, without a declared length
        async def chunks():
            for _ in range(20):
                yield b"x" * 8192

        answer = await http.post(gw.url, content=chunks(), headers=HEADERS)
        assert answer.status_code == 413 and answer.json()["error"]["message"] == expected


def raw_connection(gw) -> socket.socket:
    return socket.create_connection(("127.0.0.1", gw.port), timeout=30)


def closed_by_server(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


async def test_slow_headers_slow_bodies_and_silent_connections_are_closed(gateway_factory):
    gw = await gateway_factory({}, read_timeout_s=0.5)
    for opening in (
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n",  # headers that never end
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{",  # a body that never comes
        b"",  # nothing at all
    ):
        with raw_connection(gw) as sock:
            sock.sendall(opening)
            answer = await anyio.to_thread.run_sync(closed_by_server, sock)  # bounded by the socket timeout
        assert answer in (b"", b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
    async with httpx2.AsyncClient(timeout=30) as http:  # and the gateway still serves
        assert (await http.get(f"{gw.base_url}/health")).status_code == 200


async def test_connections_per_client_are_capped(gateway_factory):
    gw = await gateway_factory({}, max_connections_per_client=3)
    held = [raw_connection(gw) for _ in range(3)]
    try:
        for sock in held:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = await anyio.to_thread.run_sync(sock.recv, 4096)  # off the loop the gateway runs on
            assert answer.startswith(b"HTTP/1.1 200")  # and kept open (keep-alive)
        with raw_connection(gw) as extra:
            assert (await anyio.to_thread.run_sync(closed_by_server, extra)).startswith(b"HTTP/1.1 503")
    finally:
        for sock in held:
            sock.close()
    async with httpx2.AsyncClient(timeout=30) as http:  # room again once the server has seen them close
        with anyio.fail_after(30):
            while (await http.get(f"{gw.base_url}/health")).status_code != 200:
                await anyio.sleep(0.05)


async def test_an_abandoned_session_is_reaped_and_a_late_request_gets_404(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py")}, session_idle_s=1)
    await wait_for(running(gw, "toy"))
    manager = gw._app.endpoints["*"].manager
    async with httpx2.AsyncClient(timeout=30) as http:
        headers = await session(http, gw.url)
        assert open_sessions(manager) == 1
        await wait_for(lambda: open_sessions(manager) == 0, timeout=30)  # nobody closed it: the gateway did
        late = await http.post(gw.url, json=call(2, "toy__echo", {"text": "late"}), headers=headers)
    assert late.status_code == 404  # the spec's answer: the client starts a new session
