"""`switchboard --self-test`: this very Switchboard (frozen or from source) proves it works, end to end.

In a throwaway home, with the bundled demo server as its one child, it serves on 127.0.0.1 port 0 and
makes real MCP calls over Streamable HTTP, legacy SSE and through the stdio bridge (a real `stdio`
process of this same executable), then stops everything. One line per check; exit 0 only if all passed.
Installers and the release workflow run it from where the app was installed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

DEMO_WAIT = 60.0


def run() -> int:
    home = Path(tempfile.mkdtemp(prefix="switchboard-self-test-"))
    # Everything under the throwaway home; the key in its 0600 file (the bridge process reads it there).
    os.environ["SWITCHBOARD_HOME"] = str(home)
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ.pop("SWITCHBOARD_PORT", None)
    try:
        import anyio

        return anyio.run(_checks, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


async def _checks(home: Path) -> int:
    import anyio
    import keyring
    import keyring.backends.fail
    from mcp import Client, StdioServerParameters
    from mcp.client.sse import sse_client

    from app import __version__, paths
    from app.config import default_raw, save
    from app.daemon.hosting import claim, publish
    from app.daemon.instance import RuntimeInfo
    from app.launch import build_services

    keyring.set_keyring(keyring.backends.fail.Keyring())
    raw = default_raw(paths.self_command())
    raw["gateway"]["port"] = 0
    save(paths.default_config_path(), raw)
    results: list[bool] = []

    async def check(what: str, step: Callable[[], Awaitable[str]]) -> None:
        started = time.monotonic()
        try:
            with anyio.fail_after(DEMO_WAIT):
                detail = await step()
        except Exception as exc:  # every failure is one line, whatever it is
            print(f"FAIL  {what}: {type(exc).__name__}: {exc}", flush=True)
            results.append(False)
            return
        print(f"ok    {what}: {detail} ({(time.monotonic() - started) * 1000:.0f} ms)", flush=True)
        results.append(True)

    print(f"Switchboard {__version__} self-test ({'frozen' if getattr(sys, 'frozen', False) else 'source'})")
    lock = claim(paths.state_dir(), mode="headless", config=paths.default_config_path())
    if isinstance(lock, RuntimeInfo):
        print("FAIL  a throwaway home already has a running Switchboard", flush=True)
        return 1
    services = build_services()
    gateway = services.gateway
    key = services.main_key.value()
    try:
        async def serve() -> str:
            await gateway.start()
            await anyio.to_thread.run_sync(publish, lock, gateway.base_url, gateway.port)
            return f"serving at {gateway.url}"

        async def demo_up() -> str:
            while gateway.supervisors["demo"].state.value != "running":
                if gateway.supervisors["demo"].state.value in ("failed", "backoff"):
                    raise RuntimeError(gateway.supervisors["demo"].error or "it did not start")
                await anyio.sleep(0.05)
            return f"{len(gateway.supervisors['demo'].lists.tools)} tools"

        async def call(client: Any) -> str:
            result = await client.call_tool("demo__echo", {"text": "self-test"})
            if result.content[0].text != "self-test":
                raise RuntimeError(f"echo answered {result.content[0].text!r}")
            return "demo__echo answered"

        async def streamable() -> str:
            async with Client(f"{gateway.url}?api_key={key}", mode="legacy") as client:
                return await call(client)

        async def sse() -> str:
            async with Client(sse_client(f"{gateway.base_url}/sse?api_key={key}"), mode="legacy") as client:
                return await call(client)

        async def bridge() -> str:
            command = paths.self_command()
            params = StdioServerParameters(command=command[0], args=[*command[1:], "stdio"], env=dict(os.environ))
            async with Client(params, mode="legacy") as client:
                return await call(client)

        async def health() -> str:
            status = gateway.health()["status"]
            if status != "ok":
                raise RuntimeError(f"/health says {status}")
            return "ok"

        await check("the gateway starts", serve)
        if results[-1]:
            await check("the bundled demo server runs", demo_up)
            await check("Streamable HTTP", streamable)
            await check("legacy SSE", sse)
            await check("the stdio bridge", bridge)
            await check("health", health)
    finally:
        await gateway.stop()
        services.close()
        lock.release()
    passed = sum(results)
    print(f"{passed} of {len(results)} checks passed", flush=True)
    return 0 if results and all(results) else 1
