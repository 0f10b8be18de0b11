"""`switchboard serve --log-format json` and `switchboard history` as a user runs them: real processes, real
calls; afterwards no key is anywhere in the history file or the log."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from mcp import Client
from mcp_types import Implementation

from tests.conftest import ROOT, stdio_child, write_config
from tests.test_cli import read_until, switchboard


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    proc = switchboard(*args, home=home)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


async def calls(base: str, main_key: str, client_key: str) -> None:
    async with Client(f"{base}/mcp?api_key={main_key}", mode="legacy") as client:
        await client.call_tool("toy__echo", {"text": f"the key is {main_key}", "authorization": main_key})
        await client.call_tool("toy__fails", {})
    info = Implementation(name="cursor-ish", version="1.2")
    async with Client(f"{base}/mcp?api_key={client_key}", mode="legacy", client_info=info) as client:
        await client.call_tool("toy__echo", {"text": "from the laptop"})


def test_history_verb_shows_calls_and_no_key_reaches_the_file_or_the_log(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = write_config(tmp_path / "config.json", {"toy": stdio_child("toy.py")})
    added = run_cli("keys", "add", "laptop", "--config", str(config), home=home)
    assert added.returncode == 0, added.stderr
    client_key = added.stdout.strip()
    main_key = run_cli("show-key", "--config", str(config), home=home).stdout.strip()

    proc = switchboard("serve", "--config", str(config), "--port", "0", "--log-format", "json", home=home)
    try:
        lines = read_until(proc, "Press Ctrl-C")
        base = next(line for line in lines if "is serving at" in line).split()[-1].removesuffix("/mcp")
        assert any("history:" in line and "history.sqlite3" in line for line in lines)
        read_until(proc, "Server toy is running", stderr=True)
        asyncio.run(calls(base, main_key, client_key))
        rotated = run_cli("rotate-key", "--config", str(config), home=home)
        assert rotated.returncode == 0, rotated.stderr
        new_key = rotated.stdout.strip()
        deadline = time.monotonic() + 30  # the running gateway notices the rotation (the key store's stamp)
        while "key_rotated" not in run_cli("history", "--events", "--json", home=home).stdout:
            assert time.monotonic() < deadline, "the rotation was never recorded"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        stderr = proc.stderr.read()  # type: ignore[union-attr]
    finally:
        proc.kill()

    # JSON logs: every stderr line is one object.
    for line in filter(None, stderr.splitlines()):
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= entry.keys()

    shown = run_cli("history", "--config", str(config), home=home)
    assert shown.returncode == 0, shown.stderr
    table = shown.stdout.splitlines()
    assert table[0].split() == ["TIME", "CLIENT", "KEY", "TOOL", "STATUS", "DURATION", "ERROR"]
    assert [row.split()[3:5] for row in table[1:]] == [["laptop", "toy__echo"], ["main", "toy__fails"],
                                                       ["main", "toy__echo"]]  # fmt: skip
    assert "cursor-ish" in table[1]

    only = run_cli("history", "--status", "error", "--json", "-n", "5", home=home)
    records = [json.loads(line) for line in only.stdout.splitlines()]
    assert [(r["tool"], r["status"], r["original"]) for r in records] == [("toy__fails", "error", "fails")]
    filtered = run_cli("history", "--client", "cursor-ish", "--since", "1h", "--json", home=home)
    assert [json.loads(line)["arguments"] for line in filtered.stdout.splitlines()] == [{"text": "from the laptop"}]
    events = run_cli("history", "--events", home=home)
    assert "key rotated" in events.stdout and "server started" in events.stdout

    bad = run_cli("history", "--since", "last tuesday", home=home)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "10m" in bad.stderr
    assert "Traceback" not in bad.stderr

    # No key, in any form, in any file the gateway wrote: the history (and its WAL) and the logs.
    written = [p for p in (home / "state").glob("history.sqlite3*")] + list((home / "logs").rglob("*.log*"))
    assert any(p.name == "history.sqlite3" for p in written) and any(p.name == "switchboard.log" for p in written)
    for path in written:
        data = path.read_bytes()
        for key in (main_key, new_key, client_key):
            assert key.encode() not in data, f"a key is in {path}"
    log_lines = (home / "logs" / "switchboard.log").read_text().splitlines()
    assert log_lines and all(json.loads(line)["message"] is not None for line in log_lines)


def test_history_verb_before_any_run_says_so(tmp_path: Path) -> None:
    shown = run_cli("history", home=tmp_path / "home")
    assert shown.returncode == 1
    assert "does not exist yet" in shown.stderr and shown.stderr.count("\n") == 1


def test_module_runs_without_the_gateway_started() -> None:
    """`switchboard history --help` is cheap and says what it filters by."""
    out = subprocess.run([sys.executable, "-m", "app", "history", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0 and "--since" in out.stdout and "--json" in out.stdout
