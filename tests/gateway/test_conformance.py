"""The official MCP conformance suite, run through the gateway against the shared fixture server.

The fixture runs as a stdio child; the suite is pointed at that child's own endpoint
(/servers/conf/mcp), where its names are unprefixed, as the suite's scenarios expect.
`run.sh` installs Node 22 and the suite from npm on first use (cached) and prints `N passed, M failed`.
"""

from __future__ import annotations

import re
import subprocess

import anyio
import pytest

from tests.conftest import PYTHON, SHARED, running, wait_for

pytestmark = pytest.mark.anyio
RUN = SHARED / "conformance" / "run.sh"
FIXTURE = SHARED / "conformance" / "server.py"


@pytest.mark.skipif(not RUN.exists(), reason="../shared/conformance is beside the repo in CI and on dev machines")
@pytest.mark.timeout(900)
async def test_every_active_scenario_passes_through_the_gateway(gateway_factory, tmp_path):
    gw = await gateway_factory({"conf": {"command": PYTHON, "args": [str(FIXTURE)]}})
    await wait_for(running(gw, "conf"))
    url = f"{gw.base_url}/servers/conf/mcp{gw.key_query() if hasattr(gw, 'key_query') else ''}"
    result = await anyio.to_thread.run_sync(
        lambda: subprocess.run(
            ["bash", str(RUN), url],
            capture_output=True,
            text=True,
            timeout=880,
            env={
                "PATH": "/usr/bin:/bin:/usr/local/bin",
                "HOME": str(_home()),
                "CONFORMANCE_OUT": str(tmp_path / "out"),
            },
        )
    )
    summary = re.search(r"^(\d+) passed, (\d+) failed$", result.stdout, re.M)
    assert summary, result.stdout[-2000:] + result.stderr[-2000:]
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failures == [], result.stdout
    assert int(summary.group(1)) >= 30


def _home():
    import os
    from pathlib import Path

    return Path(os.environ.get("HOME", "/root"))
