"""The servers under test, alike to the scenarios: Switchboard and every peer mode, each with its wires.

A `Target` is one running server process: the URL of each wire it serves, the name its echo tool
has there, the API key if any, and whether it spawns a child per request or per session (the
scenarios bound those). A `Contender` starts a fresh one, for the start-up and memory scenarios.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.gateway import CHILD, GatewayProcess, ServedProcess
from bench.peers import HANDSHAKE, MODERN, SSE, PeerMode, PeerProcess
from bench.sessions import CallError, Session, SseSession, StreamableSession

SWITCHBOARD = "Switchboard"
FIRST_CALL_TIMEOUT = 30.0


def cpu_meter(pid: int) -> Callable[[], float]:
    """Cumulative user + system CPU seconds of one process."""
    process = psutil.Process(pid)

    def read() -> float:
        times = process.cpu_times()
        return times.user + times.system

    return read


@dataclass
class Target:
    name: str  # "Switchboard", "mcp-proxy stateful", ...
    column: str  # the table column: SWITCHBOARD or the peer program
    label: str  # the mode within a peer's column ("" for Switchboard)
    process: ServedProcess
    urls: dict[str, str]  # wire -> URL; the first is the one a first call uses
    tool_prefix: str = ""
    key: str | None = None
    per_request: frozenset[str] = frozenset()
    per_session: bool = False
    idle_wire: str | None = None
    cpu: Callable[[], float] = field(init=False)

    def __post_init__(self) -> None:
        assert self.process.process is not None
        self.cpu = cpu_meter(self.process.process.pid)  # the server alone, its children excluded

    @property
    def is_peer(self) -> bool:
        return self.column != SWITCHBOARD

    def tool(self, name: str) -> str:
        return self.tool_prefix + name

    async def open(self, wire: str, *, handshake: bool = True) -> Session:
        url = self.urls[wire]
        if wire == SSE:
            return await SseSession(url, key=self.key).open(handshake=handshake)
        return await StreamableSession(url, era="modern" if wire == MODERN else "handshake", key=self.key).open()

    async def open_many(self, wire: str, count: int) -> list[Session]:
        opened = await asyncio.gather(*(self.open(wire) for _ in range(count)), return_exceptions=True)
        sessions = [s for s in opened if not isinstance(s, BaseException)]
        errors = [s for s in opened if isinstance(s, BaseException)]
        if errors:
            await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
            raise errors[0]
        return sessions

    async def first_call(self) -> tuple[float, Session]:
        """Seconds from the process's spawn to its first correct echo, and the session that made it."""
        wire = next(iter(self.urls))
        deadline = time.perf_counter() + FIRST_CALL_TIMEOUT
        session: Session | None = None
        last: Exception | None = None
        while time.perf_counter() < deadline:
            try:
                if session is None:
                    session = await self.open(wire)
                result = await session.call(self.tool("echo"), {"text": "first"})
                if result["content"][0]["text"] == "first":
                    return time.perf_counter() - self.process.started_at, session
                last = ValueError(f"wrong first answer: {result!r:.120}")
            except Exception as exc:  # still starting: not listening yet, or its child's tools not listed yet
                last = exc
                if session is not None and not isinstance(exc, CallError):  # a refused call keeps its session
                    await session.close()
                    session = None
            await asyncio.sleep(0.005)
        if session is not None:
            await session.close()
        raise TimeoutError(f"no served call within {FIRST_CALL_TIMEOUT:.0f} s: {last}")


def switchboard_target(gateway: GatewayProcess, key: str | None) -> Target:
    urls = {HANDSHAKE: gateway.url, MODERN: gateway.url, SSE: gateway.base_url + "/sse"}
    return Target(SWITCHBOARD, SWITCHBOARD, "", gateway, urls, f"{CHILD}__", key, idle_wire=HANDSHAKE)


def peer_target(peer: PeerProcess) -> Target:
    mode = peer.mode
    urls = {wire: peer.url_for(wire) for wire in mode.wires}
    return Target(
        mode.name,
        mode.program,
        mode.label,
        peer,
        urls,
        per_request=mode.per_request,
        per_session=mode.per_session,
        idle_wire=mode.idle_wire,
    )


@dataclass
class Contender:
    """Something that starts a fresh server under test: Switchboard or one peer mode."""

    column: str
    label: str
    launch: Callable[[], Awaitable[Target]]


def switchboard_contender(make: Callable[[], GatewayProcess], key: str | None) -> Contender:
    async def launch() -> Target:
        gateway = make()
        await gateway.start()
        return switchboard_target(gateway, key)

    return Contender(SWITCHBOARD, "", launch)


def peer_contender(mode: PeerMode, home: Path) -> Contender:
    async def launch() -> Target:
        peer = PeerProcess(mode, home)
        try:
            await peer.start()
        except BaseException:
            await peer.stop()
            raise
        return peer_target(peer)

    return Contender(mode.program, mode.label, launch)
