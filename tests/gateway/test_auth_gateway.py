"""The guard around the real gateway: rotation ends an open Streamable HTTP stream and a legacy SSE stream."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from app.config import load
from app.gateway.runtime import Gateway
from app.gateway.security.guard import GuardMiddleware
from app.gateway.security.verifier import KeyVerifier
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
    path = write_config(tmp_path / "config.json", {})
    store = KeyStore(tmp_path)
    verifier = KeyVerifier(store.load_or_create(), source=store, config_path=path)
    loaded = load(path)

    def guard(app: Any) -> Any:
        return GuardMiddleware(
            app,
            verify=verifier.verify,
            subscribe=verifier.subscribe,
            recheck_interval=30.0,  # long: a quick cut comes from the subscription
            allowed_origins=lambda: loaded.config.gateway.allowed_origins,
        )

    gateway = Gateway(loaded, log_dir=tmp_path / "logs", guard=guard)
    await gateway.start()
    try:
        yield gateway, store, verifier
    finally:
        await gateway.stop()


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
                started = time.monotonic()
                async for _ in response.aiter_bytes():
                    pass
                took = time.monotonic() - started
        assert took < 2

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
                received, took = await read_until_closed(response, b"event: endpoint", rotate)
        assert took < 2
        for line in received.decode().splitlines():
            if line.startswith("data: "):
                endpoint.append(line.removeprefix("data: ").strip())
        # The session's message endpoint refuses the old key too.
        answer = await client.post(
            endpoint[0], params={"api_key": old}, content=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"})
        )
        assert answer.status_code == 401
