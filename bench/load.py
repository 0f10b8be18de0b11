"""The load generator: C concurrent clients x N sequential `tools/call` each, every result checked.

Also a command of its own, to point at any running gateway:

    python -m bench.load http://127.0.0.1:8765/mcp -c 8 -n 100 [--sse] [--era modern] [--kib 256] [--key KEY]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.blob import blob_text
from bench.sessions import Session, SseSession, StreamableSession


@dataclass(frozen=True)
class Work:
    """What each call asks for: an echo of a unique text, or a blob of `kib` KiB."""

    tool: str
    kib: int = 0

    def request(self, worker: int, index: int) -> tuple[dict[str, Any], str]:
        if self.kib:
            return {"kib": self.kib}, blob_text(self.kib)
        text = f"w{worker}-{index}"
        return {"text": text}, text


@dataclass
class Stats:
    calls: int = 0
    errors: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)
    first_error: str | None = None
    cut: bool = False  # the time budget ran out before every call was made
    cpu: float = 0.0  # CPU seconds a measured process spent during these calls (see scenarios.cpu_meter)

    def merge(self, other: Stats) -> None:
        self.calls += other.calls
        self.errors += other.errors
        self.wall += other.wall
        self.latencies.extend(other.latencies)
        self.first_error = self.first_error or other.first_error
        self.cut = self.cut or other.cut
        self.cpu += other.cpu

    def percentile(self, q: float) -> float | None:
        """The q-quantile in milliseconds (nearest rank), or None when nothing succeeded."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        rank = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000

    @property
    def rate(self) -> float | None:
        ok = len(self.latencies)
        return ok / self.wall if ok and self.wall > 0 else None

    @property
    def cpu_per_call(self) -> float | None:
        """Microseconds of the measured process's CPU per call, when it was measured."""
        return self.cpu / self.calls * 1e6 if self.cpu and self.calls else None

    def summary(self) -> dict[str, Any]:
        result = {k: v for k, v in asdict(self).items() if k != "latencies"}
        result.update(p50=self.percentile(0.5), p90=self.percentile(0.9), p99=self.percentile(0.99), rate=self.rate)
        result["cpu_us_per_call"] = self.cpu_per_call
        return result


async def drive(
    sessions: Sequence[Session], per_client: int, work: Work, *, first: int = 0, deadline: float | None = None
) -> Stats:
    """Each session is one client making `per_client` sequential calls; all clients run at once.

    The same session object may appear several times (the direct baseline: C calls in flight on one stdio).
    Past `deadline` (a perf_counter time) no new call starts, so a slow server bounds the run, not the count.
    """
    stats = Stats()
    perf = time.perf_counter

    async def client(worker: int, session: Session) -> None:
        for index in range(first, first + per_client):
            if deadline is not None and perf() > deadline:
                stats.cut = True
                return
            arguments, expected = work.request(worker, index)
            started = perf()
            try:
                result = await session.call(work.tool, arguments)
                text = result["content"][0]["text"]
                if text != expected or result.get("isError"):
                    raise ValueError(f"wrong result: {text[:80]!r}")
            except Exception as exc:
                stats.errors += 1
                stats.first_error = stats.first_error or f"{type(exc).__name__}: {exc}"[:300]
                continue
            finally:
                stats.calls += 1
            stats.latencies.append(perf() - started)

    started = perf()
    await asyncio.gather(*(client(worker, session) for worker, session in enumerate(sessions)))
    stats.wall = perf() - started
    return stats


async def open_clients(url: str, count: int, *, transport: str, era: str, key: str | None) -> list[Session]:
    async def one() -> Session:
        if transport == "sse":
            return await SseSession(url, key=key).open()
        return await StreamableSession(url, era=era, key=key).open()

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def close_all(sessions: Sequence[Session]) -> None:
    await asyncio.gather(*(session.close() for session in set(sessions)), return_exceptions=True)


def format_stats(stats: Stats) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    rate = stats.rate
    return (
        f"p50 {ms(stats.percentile(0.5))} · p90 {ms(stats.percentile(0.9))} · p99 {ms(stats.percentile(0.99))} ms"
        f" · {rate or 0:.0f} calls/s · {stats.errors}/{stats.calls} errors"
        + (f" (first: {stats.first_error})" if stats.first_error else "")
    )


async def _main(args: argparse.Namespace) -> int:
    transport = "sse" if args.sse else "streamable-http"
    url = args.url.removesuffix("/mcp") + "/sse" if args.sse and args.url.endswith("/mcp") else args.url
    sessions = await open_clients(url, args.c, transport=transport, era=args.era, key=args.key)
    try:
        stats = await drive(sessions, args.n, Work(args.tool, args.kib))
    finally:
        await close_all(sessions)
    print(format_stats(stats))
    return 1 if stats.errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the Streamable HTTP URL (…/mcp); with --sse, …/sse (or …/mcp, rewritten)")
    parser.add_argument("-c", type=int, default=1, help="concurrent clients (default 1)")
    parser.add_argument("-n", type=int, default=100, help="sequential calls per client (default 100)")
    parser.add_argument("--sse", action="store_true", help="legacy HTTP+SSE instead of Streamable HTTP")
    parser.add_argument("--era", choices=["handshake", "modern"], default="handshake", help="protocol era")
    parser.add_argument("--tool", default="echo__echo", help="the tool to call (default echo__echo)")
    parser.add_argument("--kib", type=int, default=0, help="call a blob tool for this many KiB instead of echo")
    parser.add_argument("--key", default=None, help="API key, sent as Authorization: Bearer")
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
