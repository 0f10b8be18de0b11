"""Shared fixtures: real gateways on 127.0.0.1 port 0 with real child processes."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.exceptions import MCPDeprecationWarning

warnings.simplefilter("ignore", MCPDeprecationWarning)

ROOT = Path(__file__).resolve().parent.parent
SERVERS = Path(__file__).resolve().parent / "servers"
SHARED = ROOT.parent / "shared"
PYTHON = sys.executable


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def memory_keyring() -> Any:
    """Keys go to an in-memory keyring in every test: never the developer's real one."""
    from tests.memory_keyring import MemoryKeyring

    with keyring_backend(MemoryKeyring()) as backend:
        yield backend


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config, log and state folders; nothing touches the user's."""
    monkeypatch.setenv("SWITCHBOARD_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def stdio_child(script: str, *args: str, **extra: Any) -> dict[str, Any]:
    return {"command": PYTHON, "args": [str(SERVERS / script), *args], **extra}


def demo_child() -> dict[str, Any]:
    return {"command": PYTHON, "args": ["-m", "app", "demo-server"], "cwd": str(ROOT)}


def write_config(path: Path, servers: dict[str, Any], **gateway: Any) -> Path:
    from app.config import save

    save(path, {"gateway": {"host": "127.0.0.1", "port": 0, **gateway}, "mcpServers": servers})
    return path


async def _services(tmp_path: Path, guarded: bool) -> AsyncIterator[Any]:
    """`start(servers, **gateway)` writes a config, builds the services from it (app.launch, as users
    run them) and starts the gateway; every gateway started is stopped when the test ends."""
    from app.gateway import open_access
    from app.launch import build_services

    started: list[Any] = []

    async def start(servers: dict[str, Any], **gateway: Any) -> Any:
        path = write_config(tmp_path / f"gateway-{len(started)}" / "config.json", servers, **gateway)
        services = build_services(path, guard=None if guarded else open_access)
        started.append(services)
        await services.gateway.start()
        return services

    yield start
    for services in started:
        await services.gateway.stop()
        services.close()


@pytest.fixture
async def gateway_factory(tmp_path: Path) -> AsyncIterator[Any]:
    """A gateway with open access (no key checks: every request acts with the main key's full view)."""
    async for start in _services(tmp_path, guarded=False):
        yield _gateway_of(start)


def _gateway_of(start: Any) -> Any:
    async def gateway(servers: dict[str, Any], **settings: Any) -> Any:
        return (await start(servers, **settings)).gateway

    return gateway


@pytest.fixture
async def secured_gateway(tmp_path: Path) -> AsyncIterator[Any]:
    """Services as users run them (app.launch): API key, Host/Origin checks. Yields app.launch.Services."""
    async for start in _services(tmp_path, guarded=True):
        yield start


def with_key(services: Any, path: str = "/mcp", key: str | None = None) -> str:
    """A gateway URL carrying the API key in the query, as clients that cannot set headers send it."""
    return f"{services.gateway.base_url}{path}?api_key={key or services.main_key.value()}"


async def wait_for(predicate: Any, timeout: float = 15.0, what: str = "") -> None:
    """Wait (letting the loop run) until predicate() is true; on any asyncio loop, qasync's included."""
    import anyio

    try:
        with anyio.fail_after(timeout):
            while not predicate():
                await anyio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what or predicate}") from None


def child_pids() -> set[int]:
    """This process's children and theirs: the servers a gateway in this test runs."""
    import psutil

    return {p.pid for p in psutil.Process().children(recursive=True)}


@contextlib.contextmanager
def keyring_backend(backend: Any) -> Iterator[Any]:
    """Swap the keyring backend for the block (the one way tests do it)."""
    import keyring

    before = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(before)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """What headless Linux gets, and what a subprocess with PYTHON_KEYRING_BACKEND=fail sees: the 0600 file."""
    import keyring.backends.fail

    with keyring_backend(keyring.backends.fail.Keyring()):
        yield


def running(gw: Any, *names: str) -> Any:
    """`gw`: a Gateway, or Services (its gateway)."""
    gateway = getattr(gw, "gateway", gw)
    return lambda: all(n in gateway.supervisors and gateway.supervisors[n].state.value == "running" for n in names)


if os.environ.get("QT_QPA_PLATFORM") is None:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
