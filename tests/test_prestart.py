"""Stdio servers started before the gateway's imports (app/prestart.py) are adopted by the gateway when
they are exactly what it would start, and stopped otherwise: never two of one server, never an orphan."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from mcp import Client

from app.gateway import open_access
from app.launch import build_services, config_store
from app.prestart import INHERITED, inherited_environment, prestart, release
from tests.conftest import PYTHON, ROOT, running, stdio_child, wait_for, write_config

pytestmark = [pytest.mark.anyio, pytest.mark.skipif(sys.platform == "win32", reason="POSIX only, as prestart is")]


def test_a_prestarted_server_inherits_what_the_sdk_would_give_it():
    from mcp.client.stdio import DEFAULT_INHERITED_ENV_VARS, get_default_environment

    assert list(INHERITED) == DEFAULT_INHERITED_ENV_VARS
    assert inherited_environment() == get_default_environment()


async def serve(tmp_path: Path, servers: dict[str, Any], prestarted_from: dict[str, Any] | None = None) -> Any:
    """The gateway as `serve` builds it: the config read, its stdio servers prestarted, then the services."""
    path = write_config(tmp_path / "config.json", servers)
    store = config_store(path)
    early = prestart(config_store(write_config(tmp_path / "early.json", prestarted_from)).open().config
                     if prestarted_from is not None else store.open().config)  # fmt: skip
    services = build_services(store=store, prestarted=early, guard=open_access)
    await services.gateway.start()
    return services, early


async def pid_of(gw: Any, tool: str) -> int:
    async with Client(gw.url, mode="legacy") as client:
        return int((await client.call_tool(tool, {})).content[0].text)


async def test_the_gateway_adopts_the_server_started_before_it(tmp_path):
    services, early = await serve(tmp_path, {"toy": stdio_child("toy.py"), "off": {**stdio_child("toy.py"),
                                                                                 "enabled": False}})  # fmt: skip
    try:
        assert set(early) == {"toy"}  # a disabled server is not started early either
        await wait_for(running(services.gateway, "toy"))
        assert early["toy"].adopted
        assert await pid_of(services.gateway, "toy__pid") == early["toy"].popen.pid  # the very process
        assert services.gateway.supervisors["toy"]._fast  # the fast lane works over its pipes too
        await services.gateway.restart_child("toy")  # a restart spawns anew, as always
        await wait_for(running(services.gateway, "toy"))
        assert await pid_of(services.gateway, "toy__pid") != early["toy"].popen.pid
        await wait_for(lambda: early["toy"].popen.poll() is not None, what="the adopted process is stopped")
    finally:
        await services.gateway.stop()
        services.close()
        release(early)


async def test_a_server_the_gateway_would_start_otherwise_is_stopped_not_left_beside_it(tmp_path):
    # The config changed between the two reads: the early process has other arguments, and one server is gone.
    before = {"toy": stdio_child("toy.py", "--long-names"), "gone": stdio_child("toy.py")}
    services, early = await serve(tmp_path, {"toy": stdio_child("toy.py")}, prestarted_from=before)
    try:
        await wait_for(running(services.gateway, "toy"))
        assert await pid_of(services.gateway, "toy__pid") != early["toy"].popen.pid
        assert early["toy"].popen.poll() is not None and early["gone"].popen.poll() is not None
    finally:
        await services.gateway.stop()
        services.close()
        release(early)


def test_what_was_not_adopted_is_stopped_when_serve_ends(tmp_path):
    early = prestart(config_store(write_config(tmp_path / "config.json", {"toy": stdio_child("toy.py")})).open().config)
    process = early["toy"].popen
    assert process.poll() is None
    release(early)
    assert process.poll() is not None


def test_serve_answers_through_a_prestarted_server(tmp_path):
    """`switchboard serve` as a user runs it: the first call is answered by the server it started first."""
    home = tmp_path / "home"
    config = write_config(home / "config.json", {"toy": stdio_child("toy.py")})
    env = {**os.environ, "SWITCHBOARD_HOME": str(home), "SWITCHBOARD_PORT": "0",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}  # fmt: skip
    serve_process = subprocess.Popen([PYTHON, "-m", "app", "serve", "--config", str(config)], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        banner = ""
        for line in serve_process.stdout:  # type: ignore[union-attr]
            banner += line
            if "serving at" in line.lower() or serve_process.poll() is not None:
                break
        assert "serving at" in banner.lower(), banner
        health = banner.split("serving at ")[1].split()[0].removesuffix("/mcp") + "/health"
        deadline = time.monotonic() + 30
        while httpx.get(health).status_code != 200:  # until the toy serves (it is adopted by then)
            assert time.monotonic() < deadline, "the server never became ready"
            time.sleep(0.05)
        children = [int(p) for p in Path(f"/proc/{serve_process.pid}/task/{serve_process.pid}/children")
                    .read_text().split()]  # fmt: skip
        assert len(children) == 1  # one toy: the prestarted one, adopted, not a second
    finally:
        serve_process.terminate()
        serve_process.wait(timeout=30)
    assert not Path(f"/proc/{children[0]}").exists() or "zombie" in Path(f"/proc/{children[0]}/status").read_text()
