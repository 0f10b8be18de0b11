"""Claude Desktop's way in, from nothing: `connect claude-desktop` in a throwaway HOME writes a stdio entry;
spawning exactly that command (no gateway running) starts the background gateway; a call works; after
`switchboard restart` the same bridge process serves the next call. No key in Claude's file."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import psutil
import pytest
from mcp import Client, StdioServerParameters

from tests.daemon.processes import cli_env, home_config, no_leftovers, runtime_file, switchboard, tree

pytestmark = pytest.mark.anyio


async def test_the_entry_connect_writes_starts_the_gateway_and_survives_a_restart(tmp_path: Path) -> None:
    home, user_home = tmp_path / "sb", tmp_path / "home"
    user_home.mkdir()
    home_config(home)
    env = {"HOME": str(user_home), "XDG_CONFIG_HOME": str(user_home / ".config")}
    connected = switchboard("connect", "claude-desktop", home=home, **env)
    assert connected.returncode == 0, connected.stderr
    claude_file = user_home / ".config" / "Claude" / "claude_desktop_config.json"
    entry = json.loads(claude_file.read_text())["mcpServers"]["switchboard"]
    assert entry["args"][-1] == "stdio" and Path(entry["command"]).is_absolute()
    assert runtime_file(home) is None  # nothing runs yet

    # Claude Desktop starts the entry's command with its own environment (and the test's SWITCHBOARD_HOME).
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=cli_env(home, **env))
    with no_leftovers() as watched:
        try:
            async with Client(params, mode="legacy") as client:
                with anyio.fail_after(120):
                    names = {t.name for t in (await client.list_tools()).tools}
                    assert {"demo__echo", "demo__add"} <= names  # the bridge started the gateway and its child
                    running = runtime_file(home)
                    assert running is not None and running["mode"] == "headless"
                    watched.watch(tree(running["pid"]))
                    assert (await client.call_tool("demo__echo", {"text": "hello"})).content[0].text == "hello"
                    key = (home / "config" / "api-key").read_text().strip()
                    assert key not in claude_file.read_text()  # the bridge read the key itself

                    restarted = await anyio.to_thread.run_sync(lambda: switchboard("restart", home=home, **env))
                    assert restarted.returncode == 0, restarted.stderr
                    again = runtime_file(home)
                    assert again is not None and again["pid"] != running["pid"]
                    watched.watch(tree(again["pid"]))
                    result = await client.call_tool("demo__echo", {"text": "after the restart"})
                    assert result.content[0].text == "after the restart"
        finally:
            stopped = await anyio.to_thread.run_sync(lambda: switchboard("stop", home=home, **env))
            assert stopped.returncode == 0, stopped.stderr
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in watched.watched.values())
