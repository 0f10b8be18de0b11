"""The guard over real HTTP: a small Starlette app behind GuardMiddleware, served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
import uvicorn.logging
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from app.config import ConfigStore, save
from app.config.models import ClientKey
from app.gateway.security.guard import UNAUTHORIZED_MESSAGE, GuardMiddleware
from app.gateway.security.identity import SCOPE_KEY, KeyIdentity
from app.gateway.security.redact import RedactKeyFilter, redact
from app.gateway.security.verifier import KeyVerifier
from app.launch import MainKey, link_keys
from app.secrets import client_keys
from app.secrets.keystore import KeyStore
from tests.conftest import wait_for

pytestmark = pytest.mark.anyio


@dataclass
class Seen:
    """What the app below the guard saw, and which of its streams have ended."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)


def build_app(seen: Seen) -> Starlette:
    async def whoami(request: Request) -> JSONResponse:
        identity = request.scope.get(SCOPE_KEY)
        seen.requests.append({"query": request.url.query, "headers": dict(request.headers)})
        return JSONResponse(
            {
                "name": identity.name if isinstance(identity, KeyIdentity) else None,
                "servers": sorted(identity.servers) if identity and identity.servers is not None else None,
                "tools": sorted(identity.tools) if identity and identity.tools is not None else None,
                "query": request.url.query,
            }
        )

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def chunks(request: Request) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            try:
                for i in range(100_000):
                    yield f"chunk {i}\n".encode()
                    await anyio.sleep(0.05)
            finally:
                seen.ended.append("chunks")

        return StreamingResponse(body(), media_type="text/plain")

    async def events(request: Request) -> EventSourceResponse:
        async def stream() -> AsyncIterator[dict[str, str]]:
            try:
                yield {"event": "hello", "data": "open"}
                await anyio.sleep_forever()  # idle, as an MCP GET stream mostly is; pings every 15 s
            finally:
                seen.ended.append("events")

        return EventSourceResponse(stream())

    return Starlette(
        routes=[
            Route("/whoami", whoami),
            Route("/health", health),
            Route("/chunks", chunks),
            Route("/events", events),
        ]
    )


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # type: ignore[override]
        yield


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    server = _Server(uvicorn.Config(app, log_config=None, lifespan="off", access_log=True))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        with anyio.fail_after(10):
            while not server.started:
                await anyio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True
        with anyio.fail_after(10):
            await task
        sock.close()


@dataclass
class Gate:
    url: str
    key: str
    store: KeyStore
    verifier: KeyVerifier
    seen: Seen
    config: ConfigStore

    def client(self, **kw: Any) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(base_url=self.url, timeout=10, **kw)


GateFactory = Callable[..., Any]


@pytest.fixture
async def gate_factory(tmp_path: Path) -> AsyncIterator[GateFactory]:
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            *,
            client_keys_: list[ClientKey] = (),  # type: ignore[assignment]
            subscribe: bool = True,
            recheck_interval: float = 30.0,  # long: a cut that comes sooner came from the subscription
            allowed_hosts: list[str] = (),  # type: ignore[assignment]
            allowed_origins: list[str] = (),  # type: ignore[assignment]
        ) -> Gate:
            config_path = tmp_path / "config.json"
            save(config_path, {"gateway": {"port": 0}, "mcpServers": {}})
            config = ConfigStore(config_path)
            config.open()
            store = KeyStore(tmp_path)
            key = store.load_or_create()
            verifier = KeyVerifier(key, client_keys_)
            watcher = link_keys(config, MainKey(store, verifier))  # as app.launch wires them
            stack.callback(watcher.stop)
            seen = Seen()
            app = GuardMiddleware(
                build_app(seen),
                verify=verifier.verify,
                subscribe=verifier.subscribe if subscribe else None,
                recheck_interval=recheck_interval,
                allowed_hosts=allowed_hosts,
                allowed_origins=lambda: allowed_origins,
            )
            url = await stack.enter_async_context(serve(app))
            return Gate(url, key, store, verifier, seen, config)

        yield start


@pytest.fixture
async def gate(gate_factory: GateFactory) -> Gate:
    return await gate_factory()


# -- the key ----------------------------------------------------------------------------------


async def test_each_way_of_sending_the_key(gate: Gate) -> None:
    async with gate.client() as client:
        ways: list[dict[str, Any]] = [
            {"headers": {"Authorization": f"Bearer {gate.key}"}},
            {"headers": {"authorization": f"bearer  {gate.key}"}},
            {"headers": {"X-API-Key": gate.key}},
            {"params": {"api_key": gate.key}},
        ]
        for kwargs in ways:
            response = await client.get("/whoami", **kwargs)
            assert response.status_code == 200, kwargs
            assert response.json()["name"] == "main"


async def test_the_key_never_reaches_the_app_below(gate: Gate) -> None:
    async with gate.client() as client:
        await client.get(f"/whoami?x=1&api_key={gate.key}&y=%20two")
        await client.get("/whoami", headers={"Authorization": f"Bearer {gate.key}", "X-Other": "kept"})
        await client.get("/whoami", headers={"X-API-Key": gate.key})
    first, second, third = gate.seen.requests
    assert first["query"] == "x=1&y=%20two"
    assert "authorization" not in second["headers"] and second["headers"]["x-other"] == "kept"
    assert "x-api-key" not in third["headers"]
    assert gate.key not in repr(gate.seen.requests)


async def test_missing_or_wrong_key_is_401_saying_what_to_send(gate: Gate) -> None:
    async with gate.client() as client:
        answers = [
            await client.get("/whoami"),
            await client.get("/whoami", headers={"Authorization": "Bearer wrong"}),
            await client.get("/whoami", headers={"Authorization": f"Basic {gate.key}"}),
            await client.get("/whoami", headers={"X-API-Key": gate.key[:-1]}),
            await client.get("/whoami", params={"api_key": ""}),
            await client.post("/whoami", params={"api_key": gate.key.upper()}, content=b"{}"),
        ]
    for response in answers:
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {"error": "unauthorized", "message": UNAUTHORIZED_MESSAGE}
    assert "show-key" in UNAUTHORIZED_MESSAGE
    assert gate.seen.requests == []


async def test_health_is_public_but_still_checks_host(gate: Gate) -> None:
    async with gate.client() as client:
        assert (await client.get("/health")).json() == {"ok": True}
        assert (await client.get("/health", headers={"Host": "evil.example.com"})).status_code == 403


async def test_a_client_key_puts_its_identity_in_the_scope(gate_factory: GateFactory) -> None:
    key = "cursor-secret-key"
    restricted = ClientKey(
        name="cursor", sha256=client_keys.digest(key), servers=["files", "web"], tools=["files__read"]
    )
    gate = await gate_factory(client_keys_=[restricted])
    async with gate.client() as client:
        response = await client.get("/whoami", headers={"X-API-Key": key})
        assert response.json() == {"name": "cursor", "servers": ["files", "web"], "tools": ["files__read"], "query": ""}
        assert (await client.get("/whoami", headers={"X-API-Key": gate.key})).json()["name"] == "main"


async def test_a_client_key_revoked_in_the_config_is_refused_next_request(gate: Gate) -> None:
    key = client_keys.add(gate.config, "cursor")
    async with gate.client() as client:
        assert (await client.get("/whoami", headers={"X-API-Key": key})).json()["name"] == "cursor"
        client_keys.revoke(gate.config, "cursor")  # as `switchboard keys revoke` would
        assert (await client.get("/whoami", headers={"X-API-Key": key})).status_code == 401


# -- Host and Origin --------------------------------------------------------------------------


async def test_forged_host_and_foreign_origin_are_refused(gate: Gate) -> None:
    auth = {"Authorization": f"Bearer {gate.key}"}
    async with gate.client() as client:
        for headers in (
            {"Host": "evil.example.com"},
            {"Host": "evil.example.com", "Origin": "http://evil.example.com"},  # the conformance scenario
            {"Host": "127.0.0.1.evil.example:80"},
            {"Host": "localhost:80:80"},
            {"Host": "[::1]x"},
            {"Origin": "http://evil.example.com"},
            {"Origin": "https://localhost.evil.example"},
            {"Origin": "http://127.0.0.1:99999"},
            {"Origin": "http://[::1].evil.example"},  # urlsplit drops what follows `]`
            {"Origin": "http://[::1]evil"},
            {"Origin": "http://[::1]:80x"},
            {"Origin": "http://user@localhost"},
            {"Origin": "HTTP://LOCALHOST:abc"},
            {"Origin": "null"},
            {"Origin": "file://"},
        ):
            response = await client.get("/whoami", headers={**auth, **headers})
            assert response.status_code == 403, headers
            assert response.json()["error"] == "forbidden"
            # and without a key: refused all the same, and nothing about the key
            response = await client.post("/mcp", headers=headers, content=b"{}")
            assert response.status_code == 403, headers
    assert gate.seen.requests == []


async def test_loopback_hosts_and_origins_are_accepted(gate: Gate) -> None:
    auth = {"Authorization": f"Bearer {gate.key}"}
    async with gate.client() as client:
        for headers in (
            {"Host": "localhost:8765"},
            {"Host": "LOCALHOST"},
            {"Host": "127.0.0.1"},
            {"Host": "[::1]:8765"},
            {"Origin": "http://localhost:6274"},
            {"Origin": "https://127.0.0.1"},
            {"Origin": "http://[::1]:3000"},
        ):
            response = await client.get("/whoami", headers={**auth, **headers})
            assert response.status_code == 200, headers


async def test_configured_hosts_and_origins_are_accepted(gate_factory: GateFactory) -> None:
    gate = await gate_factory(allowed_hosts=["192.168.1.5", "fe80::1"], allowed_origins=["https://app.example/"])
    auth = {"Authorization": f"Bearer {gate.key}"}
    async with gate.client() as client:
        for headers in ({"Host": "192.168.1.5:8765"}, {"Host": "[fe80::1]:80"}, {"Origin": "https://APP.example"}):
            assert (await client.get("/whoami", headers={**auth, **headers})).status_code == 200, headers
        assert (await client.get("/whoami", headers={**auth, "Origin": "https://app.example:444"})).status_code == 403


# -- rotation -----------------------------------------------------------------------------------


async def test_rotation_refuses_the_old_key_on_the_very_next_request(gate: Gate) -> None:
    async with gate.client() as client:
        assert (await client.get("/whoami", headers={"X-API-Key": gate.key})).status_code == 200
        new = gate.store.rotate()
        gate.verifier.set_main(new)
        assert (await client.get("/whoami", headers={"X-API-Key": gate.key})).status_code == 401
        assert (await client.get("/whoami", headers={"X-API-Key": new})).status_code == 200


async def test_rotation_by_another_process_refuses_the_old_key(gate: Gate) -> None:
    async with gate.client() as client:
        new = KeyStore(gate.store.config_dir).rotate()  # `switchboard rotate-key`: no call into the gateway
        await wait_for(lambda: gate.verifier.verify(new) is not None)  # the stamp file's watcher noticed
        assert (await client.get("/whoami", params={"api_key": gate.key})).status_code == 401
        assert (await client.get("/whoami", params={"api_key": new})).status_code == 200


async def read_until_closed(response: httpx2.Response, first: bytes, rotate: Callable[[], None]) -> bytes:
    """Read until `first` has arrived, rotate, then read to the end (callers bound it with fail_after)."""
    received = b""
    rotated = False
    async for chunk in response.aiter_bytes():
        received += chunk
        if not rotated and first in received:
            rotate()
            rotated = True
    return received


@pytest.mark.parametrize("path", ["/events", "/chunks"])
async def test_rotation_cuts_an_open_stream(gate: Gate, path: str) -> None:
    def rotate() -> None:
        gate.verifier.set_main(gate.store.rotate())

    first = b"event: hello" if path == "/events" else b"chunk 0"
    async with gate.client() as client:
        with anyio.fail_after(5):
            async with client.stream("GET", path, params={"api_key": gate.key}) as response:
                assert response.status_code == 200
                # Ends within fail_after(5): the idle SSE stream too, though pings come every 15 s and the
                # re-check every 30 s. So the cut came from the verifier's change notice.
                received = await read_until_closed(response, first, rotate)
        assert first in received
        with anyio.fail_after(5):
            while path.strip("/") not in gate.seen.ended:  # the app below saw the client go
                await anyio.sleep(0.02)
        assert (await client.get(path, params={"api_key": gate.key})).status_code == 401


async def test_another_process_rotating_cuts_an_open_stream_within_the_recheck(gate_factory: GateFactory) -> None:
    gate = await gate_factory(subscribe=False, recheck_interval=0.2)

    def rotate() -> None:
        KeyStore(gate.store.config_dir).rotate()  # no set_main, no subscription: the periodic re-check notices

    async with gate.client() as client:
        with anyio.fail_after(5):
            async with client.stream("GET", "/events", headers={"X-API-Key": gate.key}) as response:
                await read_until_closed(response, b"event: hello", rotate)  # ends within fail_after(5)


async def test_each_later_chunk_rechecks_the_key(gate_factory: GateFactory) -> None:
    gate = await gate_factory(subscribe=False, recheck_interval=30.0)  # neither told nor polling in time

    def rotate() -> None:
        gate.verifier.set_main(gate.store.rotate())

    async with gate.client() as client:
        with anyio.fail_after(5):
            async with client.stream("GET", "/chunks", headers={"X-API-Key": gate.key}) as response:
                # Neither told nor re-checking within 30 s, the stream still ends within fail_after(5): the
                # first chunk sent after the rotation was refused (100,000 would follow otherwise).
                received = await read_until_closed(response, b"chunk 1\n", rotate)
    assert b"chunk 1\n" in received


async def test_a_stream_with_a_still_valid_key_is_left_alone(gate: Gate) -> None:
    other = client_keys.add(gate.config, "other")
    async with gate.client() as client:
        with anyio.fail_after(5):
            async with client.stream("GET", "/chunks", headers={"X-API-Key": other}) as response:
                lines = 0
                async for _ in response.aiter_lines():
                    lines += 1
                    if lines == 2:
                        gate.verifier.set_main(gate.store.rotate())  # the main key changes, not this one
                    if lines == 8:
                        break
        assert lines == 8


# -- logs -------------------------------------------------------------------------------------


async def test_the_key_never_appears_in_the_logs(gate: Gate, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client_key = client_keys.add(gate.config, "cursor")
    async with gate.client() as client:
        await client.get(f"/whoami?api_key={gate.key}&x=1")
        await client.get(f"/whoami?api_key={client_key}")
        await client.get("/whoami", headers={"Authorization": f"Bearer {gate.key}"})
        await client.get(f"/whoami?api_key={gate.key}x")  # wrong, but nearly the key
        await client.get(f"/health?api_key={gate.key}")
        await client.get(f"/whoami?api_key={gate.key}", headers={"Host": "evil.example"})
        with anyio.fail_after(5):
            async with client.stream("GET", f"/events?api_key={gate.key}") as response:
                await read_until_closed(response, b"hello", lambda: gate.verifier.set_main(gate.store.rotate()))
        await client.get(f"/whoami?api_key={gate.key}")  # the old key, refused

    # The test's own HTTP client logs the URLs it requests, key included: that is this test process
    # acting as a client, not the gateway (which never sends its key anywhere). Everything else is scanned.
    client_side = ("httpx2", "httpcore2")
    gateway_side = [r for r in caplog.records if not r.name.startswith(client_side)]
    access = [r.getMessage() for r in gateway_side if r.name == "uvicorn.access"]
    assert any("/whoami?x=1" in line for line in access)  # the access log was captured, minus the key
    assert any('"GET /events HTTP/1.1" 200' in line for line in access)
    assert len(access) >= 8
    assert "api_key" not in "\n".join(access)
    logging_handler = logging.Formatter("%(name)s %(levelname)s %(message)s")
    text = "\n".join(logging_handler.format(r) for r in gateway_side)
    assert "Closed a response" in text and "no valid API key" in text  # the guard's own lines are there
    assert gate.key not in text
    assert client_key not in text
    # and the filter runtime installs would have cleaned even the client's lines
    redactor = RedactKeyFilter()
    client_lines = [r for r in caplog.records if r.name.startswith(client_side)]
    assert any(gate.key in r.getMessage() for r in client_lines)
    for r in client_lines:
        redactor.filter(r)
        assert gate.key not in r.getMessage() and client_key not in r.getMessage()


def test_redact_filter_cleans_messages_args_and_tracebacks() -> None:
    secret = "s3cr3t-KEY_value"
    assert redact(f"GET /sse?session=1&api_key={secret}&x=2") == "GET /sse?session=1&api_key=[redacted]&x=2"
    assert secret not in redact(f"Authorization: Bearer {secret}")
    assert secret not in redact(f"headers: [(b'x-api-key', b'{secret}')]")
    assert secret not in redact(f'{{"api_key": "{secret}"}}')
    assert secret not in redact(f"GET /sse?api%5Fkey={secret}".replace("%5F", "_"))

    # uvicorn's access formatter unpacks the record's args: they must stay a 5-tuple.
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/sse?api_key={secret}", "1.1", 200), None,
    )  # fmt: skip
    try:
        raise ValueError(f"bad url /mcp?api_key={secret}")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactKeyFilter().filter(record)
    line = uvicorn.logging.AccessFormatter("%(client_addr)s %(request_line)s %(status_code)s").format(record)
    assert secret not in line
    assert "/sse?api_key=[redacted]" in line
