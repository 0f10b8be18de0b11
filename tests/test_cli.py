"""The CLI as a user meets it: real processes, real ports, sentences instead of tracebacks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, demo_child, write_config


def switchboard(*args: str, home: Path, **kwargs) -> subprocess.Popen:
    # keyring's fail backend: the key goes to a 0600 file in the test's home, never a real keyring.
    env = {**os.environ, "SWITCHBOARD_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    for display in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(display, None)
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def read_until(proc: subprocess.Popen, needle: str, timeout: float = 30, *, stderr: bool = False) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    stream = proc.stderr if stderr else proc.stdout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if needle in line:
            return lines
    raise AssertionError(
        f"{needle!r} not printed; got {lines} / {proc.stderr.read() if proc.poll() is not None else ''}"
    )


def test_serve_prints_where_things_are_and_stops_cleanly_on_ctrl_c(tmp_path):
    config = write_config(tmp_path / "c.json", {"demo": demo_child()})
    proc = switchboard("serve", "--config", str(config), "--port", "0", home=tmp_path / "home")
    try:
        lines = read_until(proc, "Press Ctrl-C")
        text = "\n".join(lines)
        assert "is serving at http://127.0.0.1:" in text and "/mcp" in text
        assert str(config) in text and "switchboard.log" in text
        read_until(proc, "Server demo is running", stderr=True)  # the headless feedback line, once it is up
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children, "the demo child runs"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        assert "Traceback" not in proc.stderr.read()
        psutil.wait_procs(children, timeout=5)
        assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    finally:
        proc.kill()


def test_busy_port_is_one_sentence_with_the_fix(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path / "c.json", {})
        proc = switchboard("serve", "--config", str(config), "--port", str(port), home=tmp_path / "home")
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    fix = "Choose another port (--port, or gateway.port in the config file)."
    said = [line for line in err.splitlines() if line.startswith("switchboard:")]
    assert said == [f"switchboard: Port {port} is in use by another program. {fix}"]
    assert "Traceback" not in err


def test_a_bad_config_file_names_the_field(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"gateway": {"prot": 1}, "mcpServers": {}}))
    proc = switchboard("serve", "--config", str(config), home=tmp_path / "home")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "gateway.prot: unknown field (did you mean `port`?)" in err
    assert "Traceback" not in err


def test_a_bad_server_entry_is_reported_and_the_rest_serves(tmp_path):
    config = write_config(tmp_path / "c.json", {"github": {"args": []}, "demo": demo_child()})
    proc = switchboard("serve", "--config", str(config), home=tmp_path / "home")
    try:
        read_until(proc, "Press Ctrl-C")
        err = read_until(proc, "Server demo is running", stderr=True)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        err += proc.stderr.read().splitlines()
        assert any(
            "Server github cannot start: mcpServers.github: needs either `command` (a local server)" in line
            for line in err
        ), err
        assert "Traceback" not in "\n".join(err)
    finally:
        proc.kill()


def test_no_display_runs_headless_with_a_default_config(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("SWITCHBOARD_PORT", "0")  # the default config's port is 8765: a real Switchboard's
    proc = switchboard(home=home)
    try:
        read_until(proc, "Press Ctrl-C")
        assert (
            json.loads((home / "config" / "config.json").read_text())["mcpServers"]["demo"]["args"][-1] == "demo-server"
        )
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        assert "No display found. Running the gateway headless (switchboard serve)." in proc.stderr.read()
    finally:
        proc.kill()


@pytest.mark.anyio
async def test_demo_server_serves_tools_a_resource_and_a_prompt():
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=sys.executable, args=["-m", "app", "demo-server"], cwd=str(ROOT))
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"echo", "current_time", "add"} <= tools
        assert (await client.call_tool("add", {"a": 2, "b": 3})).structured_content == {"result": 5.0}
        assert "demo MCP server" in (await client.read_resource("demo://about")).contents[0].text
        assert "three sentences" in (await client.get_prompt("summarize", {"text": "x"})).messages[0].content.text


def test_exposing_beyond_loopback_must_be_asked_for(tmp_path):
    config = write_config(tmp_path / "c.json", {})
    proc = switchboard("serve", "--config", str(config), "--host", "0.0.0.0", home=tmp_path / "home")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "host '0.0.0.0' is not loopback; set gateway.allow_non_loopback to true to expose it" in err


def test_a_display_that_cannot_be_reached_runs_headless(tmp_path, monkeypatch):
    from app.cli import has_display

    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setenv("DISPLAY", ":987")  # no X server has this number here
    assert has_display() is False
    monkeypatch.setenv("DISPLAY", "")
    assert has_display() is False


def test_a_reachable_x_display_is_seen(tmp_path, monkeypatch):
    """A real listener on the X socket path stands in for an X server (the probe only connects)."""
    import socket

    from app.cli import display

    sock_dir = tmp_path / "x11"
    sock_dir.mkdir()
    path = sock_dir / "X5"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        monkeypatch.setattr(display, "_X_SOCKETS", str(sock_dir))
        monkeypatch.setenv("DISPLAY", ":5")
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
        assert display.has_display() is True


def test_an_explicit_displayless_qt_platform_counts_as_a_display(monkeypatch):
    from app.cli import has_display

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert has_display() is True
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert has_display() is False
