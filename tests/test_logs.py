"""The gateway's log as a user's gateway writes it (a real `serve` process): no traceback for other people's
mistakes, a few lines where there were hundreds, no key in any form, readable by its owner only."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys

import httpx2

from tests.conftest import ROOT, demo_child, stdio_child, write_config
from tests.test_cli import read_until, switchboard

JSON = {"Content-Type": "application/json"}
FAIL_KEYRING = "keyring.backends.fail.Keyring"


def test_bad_input_costs_a_few_lines_no_traceback_and_no_key(tmp_path):
    home = tmp_path / "home"
    config = write_config(
        tmp_path / "c.json", {"demo": demo_child(), "junky": stdio_child("misbehave.py", "--junk-at-start", "300")}
    )
    proc = switchboard("serve", "--config", str(config), "--port", "0", home=home)
    try:
        url = re.search(r"serving at (\S+)", "\n".join(read_until(proc, "Press Ctrl-C"))).group(1)
        base = url.removesuffix("/mcp")
        key = subprocess.run(
            [sys.executable, "-m", "app", "show-key", "--config", str(config)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
            env={**os.environ, "SWITCHBOARD_HOME": str(home), "PYTHON_KEYRING_BACKEND": FAIL_KEYRING},
        ).stdout.strip()
        assert len(key) >= 40
        # The stream and the POSTs on two clients, as an SSE client keeps them.
        with (
            httpx2.Client(timeout=30) as listen,
            httpx2.Client(timeout=30) as http,
            listen.stream("GET", f"{base}/sse", params={"api_key": key}) as stream,
        ):
            lines = stream.iter_lines()  # held: a dropped line iterator closes the stream
            endpoint = next(line.removeprefix("data: ").strip() for line in lines if line.startswith("data: "))
            for i in range(100):
                # A valid session (the client POSTs the moment it reads the endpoint), a body that is not JSON.
                junk = http.post(base + endpoint, content=f"junk {i}".encode(), headers=JSON)
                assert junk.status_code == 400 and junk.json()["error"]["code"] == -32700, (i, junk.text)
                http.post(f"{base}/messages/", params={"session_id": key}, content=b"{}")  # the key as a session id
                mcp = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
                http.post(url, content=b"{nope", params={"api_key": key}, headers=mcp)
            ping = http.post(base + endpoint, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert ping.status_code == 202  # the junk did not cost this client its session
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        stderr = proc.stderr.read()
    finally:
        proc.kill()
    log_path = home / "logs" / "switchboard.log"
    log = log_path.read_text()
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600  # the user's alone, like the config
    for text in (log, stderr):
        assert "Traceback" not in text
        assert key not in text and key[:20] not in text
    assert log.count("is not JSON-RPC") <= 6  # 300 junk lines from the child: a few lines and a count
    assert 1 <= log.count("sent a message that was refused") <= 6  # 100 junk POSTs: a few lines and a count
    assert len(log.splitlines()) < 150
