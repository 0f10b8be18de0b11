"""The official MCP conformance suite, run through the gateway against the shared fixture server.

The fixture runs as a stdio child; the suite is pointed at that child's own endpoint
(/servers/conf/mcp), where its names are unprefixed, as the suite's scenarios expect.
`run.sh` installs Node 22 and the suite from npm on first use (cached) and prints `N passed, M failed`.
"""

from __future__ import annotations

import os
import re
import subprocess

import anyio
import pytest

from tests.conftest import PYTHON, SHARED, running, wait_for, with_key

pytestmark = pytest.mark.anyio
RUN = SHARED / "conformance" / "run.sh"
FIXTURE = SHARED / "conformance" / "server.py"


@pytest.mark.skipif(not RUN.exists(), reason="../shared/conformance is beside the repo in CI and on dev machines")
@pytest.mark.timeout(900)
async def test_every_active_scenario_passes_through_the_gateway(secured_gateway, tmp_path):
    """As users run it: behind the API key (in the URL: the suite's client cannot set headers) and the
    Host/Origin checks, which the suite's dns-rebinding-protection scenario probes."""
    gw = await secured_gateway({"conf": {"command": PYTHON, "args": [str(FIXTURE)]}})
    await wait_for(running(gw, "conf"))
    env = {**os.environ, "CONFORMANCE_OUT": str(tmp_path / "out")}
    command = ["bash", str(RUN), with_key(gw, "/servers/conf/mcp")]
    result = await anyio.to_thread.run_sync(
        lambda: subprocess.run(command, capture_output=True, text=True, timeout=880, env=env)
    )
    summary = re.search(r"^(\d+) passed, (\d+) failed$", result.stdout, re.M)
    assert summary, result.stdout[-2000:] + result.stderr[-2000:]
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failures == [], result.stdout
    assert int(summary.group(1)) >= 30
