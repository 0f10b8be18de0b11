"""The gateway under test as its own process: `python -m app serve` with the echo child, its URL, key and RSS."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
CHILD = "echo"  # the child's name in the config: its tools are published as echo__echo, echo__blob
CHILD_ARGV = [sys.executable, "-m", "bench.echo_server"]
SERVING = re.compile(r"is serving at (http://127\.0\.0\.1:\d+/mcp)")
KEY_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{16,}$")
START_TIMEOUT = 30.0


def write_config(home: Path, **gateway: object) -> Path:
    """The bench's config: the echo child alone; `gateway` adds settings (e.g. history=False)."""
    path = home / "bench-config.json"
    home.mkdir(parents=True, exist_ok=True)
    child = {"command": CHILD_ARGV[0], "args": CHILD_ARGV[1:], "cwd": str(ROOT)}
    # The idle-sessions row holds 1,000 sessions, each on a connection of its own from 127.0.0.1: more than
    # the gateway's per-address cap (256, so one client cannot hold every socket) lets a single address open.
    settings = {"host": "127.0.0.1", "port": 0, "max_connections_per_client": 1100, **gateway}
    path.write_text(json.dumps({"gateway": settings, "mcpServers": {CHILD: child}}))
    return path


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "SWITCHBOARD_HOME": str(home), "PYTHONPATH": str(ROOT)}


def show_key(config: Path, home: Path) -> str | None:
    """The gateway's API key via `switchboard show-key`, when that command exists; else None (no auth)."""
    app = [sys.executable, "-m", "app"]
    usage = subprocess.run([*app, "--help"], capture_output=True, text=True, cwd=ROOT, env=_env(home), timeout=30)
    if "show-key" not in usage.stdout:
        return None
    argv = [*app, "show-key", "--config", str(config)]
    shown = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=_env(home), timeout=30)
    if shown.returncode != 0:
        raise RuntimeError(f"show-key failed: {shown.stderr.strip() or shown.stdout.strip()}")
    tokens = [token for token in shown.stdout.split() if KEY_TOKEN.match(token)]
    if not tokens:
        raise RuntimeError(f"show-key printed no key: {shown.stdout.strip()!r}")
    return max(tokens, key=len)


@dataclass
class RSS:
    own: int
    with_children: int


class ServedProcess:
    """A server under test in its own process: its RSS (alone and with its children), peak, and a clean stop."""

    def __init__(self) -> None:
        self.url = ""
        self.started_at = 0.0  # perf_counter at spawn
        self.process: asyncio.subprocess.Process | None = None
        self.ps: psutil.Process | None = None
        self.peak = RSS(0, 0)

    @property
    def base_url(self) -> str:
        return self.url.removesuffix("/mcp")

    def rss(self) -> RSS:
        """RSS now, the process alone and with every process below it; also folds into `peak`."""
        assert self.ps is not None
        own = self.ps.memory_info().rss
        total = own
        for child in self.ps.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        self.peak = RSS(max(self.peak.own, own), max(self.peak.with_children, total))
        return RSS(own, total)

    def high_water(self) -> int:
        """The kernel's peak RSS of the process itself (VmHWM), or the sampled peak elsewhere."""
        assert self.ps is not None
        try:
            for line in Path(f"/proc/{self.ps.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return self.peak.own

    def reset_high_water(self) -> bool:
        """Set the kernel's VmHWM back to the current RSS (Linux `clear_refs` 5); False where it cannot."""
        assert self.ps is not None
        try:
            Path(f"/proc/{self.ps.pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    async def sample(self, interval: float = 0.1) -> None:
        """Run as a task during load: keeps `peak` current."""
        while True:
            try:
                self.rss()
            except psutil.Error:
                return
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        """Terminate, wait, then kill whatever is left of the process and everything it spawned."""
        if self.process is None or self.process.returncode is not None:
            return
        below: list[psutil.Process] = []
        with contextlib.suppress(psutil.Error):
            below = self.ps.children(recursive=True) if self.ps else []
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        for child in below:  # a peer that leaves its child behind must not leave it running
            with contextlib.suppress(psutil.Error):
                child.kill()


class GatewayProcess(ServedProcess):
    """One `switchboard serve` on port 0; `url` is parsed from its banner."""

    def __init__(self, home: Path, config: Path, patches: str = "") -> None:
        super().__init__()
        self.home = home
        self.config = config
        self.patches = patches  # comma-separated names from bench.patched; "" runs the app as it is

    async def start(self) -> None:
        launcher = ["-m", "bench.patched", self.patches] if self.patches else ["-m", "app"]
        argv = [sys.executable, *launcher, "serve", "--config", str(self.config), "--port", "0"]
        stderr = (self.home / "gateway-stderr.log").open("ab")
        self.started_at = time.perf_counter()
        self.process = await asyncio.create_subprocess_exec(
            *argv, cwd=ROOT, env=_env(self.home), stdout=asyncio.subprocess.PIPE, stderr=stderr
        )
        stderr.close()
        self.ps = psutil.Process(self.process.pid)
        assert self.process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), max(0.1, deadline - time.monotonic()))
            if not line:
                tail = (self.home / "gateway-stderr.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the gateway exited before serving:\n{tail}")
            match = SERVING.search(line.decode(errors="replace"))
            if match:
                self.url = match.group(1)
                break
        self._drainer = asyncio.create_task(self._drain(self.process.stdout))

    @staticmethod
    async def _drain(stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass
