"""The peer gateways, measured in the same run: sparfenyuk's `mcp-proxy` (PyPI) and `supergateway` (npm).

Both are installed into bench/.peers/ (git-ignored), never into the app's environment: a venv of
their own for mcp-proxy, an npm prefix for supergateway, each pinned, each reinstalled only when
its pin changes. A peer that fails to install or to start is reported as unavailable with the
reason; the run goes on without it.

    python -m bench.peers            # install (or check) both, print where they are
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.gateway import CHILD_ARGV, ROOT, START_TIMEOUT, ServedProcess

PEERS_DIR = ROOT / "bench" / ".peers"
MCP_PROXY_VERSION = "0.13.0"
SUPERGATEWAY_VERSION = "4.0.0"
MCP_PROXY_VENV = PEERS_DIR / "mcp-proxy"
MCP_PROXY_BIN = MCP_PROXY_VENV / "bin" / "mcp-proxy"
NPM_PREFIX = PEERS_DIR / "npm"
SUPERGATEWAY_JS = NPM_PREFIX / "node_modules" / "supergateway" / "dist" / "index.js"
LOOPBACK_JS = ROOT / "bench" / "loopback.cjs"
INSTALL_TIMEOUT = 300.0

MCP_PROXY = "mcp-proxy"
SUPERGATEWAY = "supergateway"
VERSIONS = {MCP_PROXY: MCP_PROXY_VERSION, SUPERGATEWAY: SUPERGATEWAY_VERSION}

# The wires a server can be measured on; a load scenario names one.
HANDSHAKE, MODERN, SSE = "handshake", "modern", "sse"


def _last_line(text: str) -> str:
    """The most telling line of an installer's output: its last one that is not a pip WARNING."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("WARNING")] or lines
    return useful[-1][:200] if useful else "no output"


def run_step(argv: list[str], what: str) -> str | None:
    """Run one install step; None when it worked, else why it did not."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{what}: {exc}"
    if done.returncode != 0:
        return f"{what} failed ({done.returncode}): {_last_line(done.stderr or done.stdout)}"
    return None


def pip_into(venv: Path, requirement: str) -> str | None:
    """A venv of its own (from the interpreter the bench runs on, >= 3.11) with `requirement` in it."""
    if not (venv / "bin" / "python").exists():
        failed = run_step([sys.executable, "-m", "venv", str(venv)], "python -m venv")
        if failed:
            return failed
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    return run_step([*pip, requirement], f"pip install {requirement}")


def _stamped(stamp: Path, version: str) -> bool:
    with contextlib.suppress(OSError):
        return stamp.read_text().strip() == version
    return False


def install_mcp_proxy() -> str | None:
    stamp = MCP_PROXY_VENV / ".bench-installed"
    if _stamped(stamp, MCP_PROXY_VERSION) and MCP_PROXY_BIN.exists():
        return None
    failed = pip_into(MCP_PROXY_VENV, f"mcp-proxy=={MCP_PROXY_VERSION}")
    if failed:
        return failed
    if not MCP_PROXY_BIN.exists():
        return f"pip installed mcp-proxy=={MCP_PROXY_VERSION} but {MCP_PROXY_BIN} is missing"
    stamp.write_text(MCP_PROXY_VERSION)
    return None


def install_supergateway() -> str | None:
    stamp = NPM_PREFIX / ".bench-installed"
    if _stamped(stamp, SUPERGATEWAY_VERSION) and SUPERGATEWAY_JS.exists():
        return None
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH"
    NPM_PREFIX.mkdir(parents=True, exist_ok=True)
    argv = ["npm", "install", "--prefix", str(NPM_PREFIX), "--no-audit", "--no-fund", "--loglevel=error"]
    package = f"supergateway@{SUPERGATEWAY_VERSION}"
    failed = run_step([*argv, package], f"npm install {package}")
    if failed:
        return failed
    if not SUPERGATEWAY_JS.exists():
        return f"npm installed supergateway@{SUPERGATEWAY_VERSION} but {SUPERGATEWAY_JS} is missing"
    stamp.write_text(SUPERGATEWAY_VERSION)
    return None


def install(progress: Callable[[str], None]) -> dict[str, str | None]:
    """Install or check both peers; for each, None when ready, else why it is unavailable."""
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    (PEERS_DIR / ".gitignore").write_text("*\n")  # bench-only state, never committed
    reasons: dict[str, str | None] = {}
    for name, step in ((MCP_PROXY, install_mcp_proxy), (SUPERGATEWAY, install_supergateway)):
        started = time.perf_counter()
        reasons[name] = step()
        state = f"unavailable: {reasons[name]}" if reasons[name] else f"ready ({time.perf_counter() - started:.1f} s)"
        progress(f"peer {name} {VERSIONS[name]}: {state}")
    return reasons


@dataclass(frozen=True)
class PeerMode:
    """One way of running a peer around the echo child, and the wires it serves that way."""

    program: str  # MCP_PROXY or SUPERGATEWAY: the table's column
    label: str  # the mode within that column
    flags: tuple[str, ...]
    wires: dict[str, str]  # wire -> URL path
    per_request: frozenset[str] = frozenset()  # wires on which it spawns a child for every request
    per_session: bool = False  # it spawns a child for every Streamable HTTP session
    idle_wire: str | None = None  # the wire whose sessions the idle-sessions scenario opens and holds

    @property
    def name(self) -> str:
        return f"{self.program} {self.label}"

    def argv(self, port: int) -> list[str]:
        if self.program == MCP_PROXY:
            head = [str(MCP_PROXY_BIN), "--host", "127.0.0.1", "--port", str(port), "--log-level", "WARNING"]
            return [*head, *self.flags, "--cwd", str(ROOT), "--", *CHILD_ARGV]
        child = shlex.join(CHILD_ARGV)
        head = ["node", "--require", str(LOOPBACK_JS), str(SUPERGATEWAY_JS), "--stdio", child, "--port", str(port)]
        return [*head, "--logLevel", "none", *self.flags]


# Each peer with its logging down to warnings (both log every message by default), so they are
# measured at their fastest. The 2026-07-28 era goes to each mode that could speak it.
PEER_MODES = [
    PeerMode(MCP_PROXY, "stateful", (), {HANDSHAKE: "/mcp", MODERN: "/mcp", SSE: "/sse"}, idle_wire=HANDSHAKE),
    PeerMode(MCP_PROXY, "--stateless", ("--stateless",), {HANDSHAKE: "/mcp"}),
    PeerMode(SUPERGATEWAY, "SSE", (), {SSE: "/sse"}, idle_wire=SSE),
    PeerMode(
        SUPERGATEWAY,
        "--stateful",
        ("--outputTransport", "streamableHttp", "--stateful"),
        {HANDSHAKE: "/mcp", MODERN: "/mcp"},
        per_request=frozenset({MODERN}),
        per_session=True,
        idle_wire=HANDSHAKE,
    ),
    PeerMode(
        SUPERGATEWAY,
        "stateless",
        ("--outputTransport", "streamableHttp"),
        {HANDSHAKE: "/mcp"},
        per_request=frozenset({HANDSHAKE}),
    ),
]


def free_port() -> int:
    """A free 127.0.0.1 port for a peer that cannot report the one it bound (neither prints port 0's)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PeerProcess(ServedProcess):
    """One peer gateway on a free port, serving the echo child; ready once its port accepts connections."""

    def __init__(self, mode: PeerMode, home: Path) -> None:
        super().__init__()
        self.mode = mode
        self.home = home
        self.port = 0
        self.log = home / f"{mode.name.replace(' ', '').replace('-', '')}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, wire: str) -> str:
        return self.base_url + self.mode.wires[wire]

    async def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        output = self.log.open("ab")
        self.started_at = time.perf_counter()
        argv = self.mode.argv(self.port)
        try:
            self.process = await asyncio.create_subprocess_exec(
                *argv, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output
            )
        except FileNotFoundError:
            raise RuntimeError(f"cannot run {argv[0]}: not found (is it on PATH?)") from None
        finally:
            output.close()
        self.ps = psutil.Process(self.process.pid)
        self.url = self.base_url + next(iter(self.mode.wires.values()))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise RuntimeError(f"exited with {self.process.returncode} before listening: {self.tail()}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.005)
                continue
            writer.close()
            return
        await self.stop()
        raise RuntimeError(f"not listening on 127.0.0.1:{self.port} after {START_TIMEOUT:.0f} s: {self.tail()}")

    def tail(self) -> str:
        with contextlib.suppress(OSError):
            return _last_line(self.log.read_text(errors="replace"))
        return "no output"


def main() -> int:
    reasons = install(print)
    print(f"mcp-proxy: {MCP_PROXY_BIN}\nsupergateway: {SUPERGATEWAY_JS}")
    return 1 if any(reasons.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
