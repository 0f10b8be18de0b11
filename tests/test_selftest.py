"""`switchboard --self-test` as the installers and the release workflow run it: from any folder, nothing set up."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_self_test_serves_the_demo_over_every_transport_and_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SWITCHBOARD_HOME", "SWITCHBOARD_PORT")}
    env["HOME"] = str(tmp_path)  # nothing of the user's is read or written: it makes its own home
    result = subprocess.run(
        [sys.executable, "-m", "app", "--self-test"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    checks = [line for line in lines if line.startswith(("ok ", "FAIL"))]
    assert [line.split(":")[0].removeprefix("ok").strip() for line in checks] == [
        "the gateway starts", "the bundled demo server runs", "Streamable HTTP", "legacy SSE", "the stdio bridge",
        "health",
    ]
    assert lines[-1] == "6 of 6 checks passed"
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # and it left nothing behind
