"""The guard around the real gateway: rotation ends an open Streamable HTTP stream and a legacy SSE stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from app.gateway import Gateway, KeyVerifier
from app.launch import build_services
from app.secrets.keystore import KeyStore
from tests.conftest import write_config
from tests.gateway.test_auth import read_until_closed

pytestmark = pytest.mark.anyio
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[tuple[Gateway, KeyStore, KeyVerifier]]:
    services = build_services(write_config(tmp_path / "config.json", {}))  # as users run it
    await services.gateway.start()
    try:
        yield services.gateway, services.main_key.store, services.verifier
    finally:
        await services.gateway.stop()
        services.close()


async def test_rotation_ends_an_open_streamable_http_session_stream(guarded: Any) -> None:
    gateway, store, verifier = guarded
    old = store.load_or_create()
    async with httpx2.AsyncClient(base_url=gateway.base_url, timeout=10) as client:
        assert (await client.post("/mcp", json=INIT, headers=MCP_HEADERS)).status_code == 401

        auth = {**MCP_HEADERS, "Authorization": f"Bearer {old}"}
        init = await client.post("/mcp", json=INIT, headers=auth)
        assert init.status_code == 200, init.text
        session = {"Mcp-Session-Id": init.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await client.post("/mcp", json=initialized, headers={**auth, **session})).status_code == 202

        new: list[str] = []

        def rotate() -> None:
            new.append(store.rotate())
            verifier.set_main(new[0])

        get_headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {old}", **session}
        with anyio.fail_after(5):
            async with client.stream("GET", "/mcp", headers=get_headers) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                # The GET stream is idle: rotate as soon as it is open, then wait for it to end.
                rotate()
                async for _ in response.aiter_bytes():  # ends: fail_after above bounds the wait
                    pass

        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        assert (await client.post("/mcp", json=ping, headers={**auth, **session})).status_code == 401
        renewed = {**MCP_HEADERS, **session, "Authorization": f"Bearer {new[0]}"}
        answer = await client.post("/mcp", json=ping, headers=renewed)
        assert answer.status_code == 200 and '"result"' in answer.text


async def test_rotation_ends_an_open_legacy_sse_stream(guarded: Any) -> None:
    gateway, store, verifier = guarded
    old = store.load_or_create()
    async with httpx2.AsyncClient(base_url=gateway.base_url, timeout=10) as client:
        assert (await client.get("/sse")).status_code == 401
        endpoint: list[str] = []

        def rotate() -> None:
            verifier.set_main(store.rotate())

        with anyio.fail_after(5):
            async with client.stream("GET", "/sse", params={"api_key": old}) as response:
                assert response.status_code == 200
                received = await read_until_closed(response, b"event: endpoint", rotate)
        for line in received.decode().splitlines():
            if line.startswith("data: "):
                endpoint.append(line.removeprefix("data: ").strip())
        # The session's message endpoint refuses the old key too.
        answer = await client.post(
            endpoint[0], params={"api_key": old}, content=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"})
        )
        assert answer.status_code == 401
