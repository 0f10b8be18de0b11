"""Fixtures for the installer's tests: a real X server (Xvfb) on a display of its choosing."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest


@pytest.fixture
def xvfb() -> Iterator[str]:
    """A running Xvfb; yields its DISPLAY. Xvfb picks a free display and writes its number to the pipe
    given by -displayfd once it accepts connections, so reading the pipe is the readiness wait."""
    binary = shutil.which("Xvfb")
    if binary is None:
        pytest.skip("Xvfb is not installed (Debian package xvfb; `make test` installs it where apt can be used)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [binary, "-displayfd", str(write_end), "-nolisten", "tcp", "-screen", "0", "1280x800x24"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.wait(timeout=10)
        assert server.stderr is not None
        pytest.fail(f"Xvfb did not start: {server.stderr.read().decode(errors='replace')[-500:]}")
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stderr:
            server.stderr.close()
