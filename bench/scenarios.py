"""The scenarios: each measures the gateway and the direct-stdio baseline in the same run, interleaved.

Load scenarios run in rounds, direct then gateway, then gateway then direct (ABBA), so a drift in
the machine's speed during the run falls on both sides alike. `bench.ab` rotates more sides the same way.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from bench.gateway import CHILD, CHILD_ARGV, ROOT, GatewayProcess
from bench.load import Stats, Work, close_all, drive, open_clients
from bench.report import MB, Row, latency_cell, mb, ms, ratio, times
from bench.sessions import Session, StdioSession, StreamableSession

SCENARIO_BUDGET = 20.0  # seconds of calls per load scenario, both sides; then it stops early and says so
SCENARIO_TIMEOUT = 60.0  # a scenario that overruns this is cut off and reported as failed
WARMUP_CALLS = 5
FIRST_CALL_TIMEOUT = 30.0
OPEN_CONCURRENCY = 50  # sessions opened at once in the idle-sessions scenario


@dataclass(frozen=True)
class LoadScenario:
    title: str
    c: int
    n: int
    kib: int = 0
    transport: str = "streamable-http"  # or "sse"
    era: str = "handshake"  # or "modern" (2026-07-28); SSE is handshake-only
    target: tuple[str, float] | None = None  # ("p50", 2.5): p50 ratio at most 2.5; ("rate", 0.6): at least 0.6

    @property
    def tool(self) -> str:
        return "blob" if self.kib else "echo"


STREAMABLE = "Streamable HTTP 2025-11-25"
MODERN = "Streamable HTTP 2026-07-28"
SSE = "legacy SSE"

LOAD_SCENARIOS = [
    LoadScenario(f"echo c=1 x 300 · {STREAMABLE}", 1, 300, target=("p50", 2.5)),
    LoadScenario(f"echo c=8 x 100 · {STREAMABLE}", 8, 100, target=("rate", 0.6)),
    LoadScenario(f"256 KiB c=1 x 50 · {STREAMABLE}", 1, 50, kib=256, target=("p50", 2.0)),
    LoadScenario(f"echo c=1 x 300 · {MODERN}", 1, 300, era="modern", target=("p50", 2.5)),
    LoadScenario(f"echo c=8 x 100 · {MODERN}", 8, 100, era="modern", target=("rate", 0.6)),
    LoadScenario(f"256 KiB c=1 x 50 · {MODERN}", 1, 50, kib=256, era="modern", target=("p50", 2.0)),
    LoadScenario(f"echo c=1 x 300 · {SSE}", 1, 300, transport="sse", target=("p50", 2.5)),
    LoadScenario(f"echo c=8 x 100 · {SSE}", 8, 100, transport="sse", target=("rate", 0.6)),
    LoadScenario(f"256 KiB c=1 x 50 · {SSE}", 1, 50, kib=256, transport="sse", target=("p50", 2.0)),
]


@dataclass
class Bench:
    """What the scenarios share: the running gateway, its key, and the direct child."""

    gateway: GatewayProcess
    key: str | None
    direct: StdioSession
    rounds: int = 2
    scale: float = 1.0  # < 1 shrinks every count (a quick run)
    direct_cpu: Callable[[], float] = field(init=False)
    gateway_cpu: Callable[[], float] = field(init=False)

    def count(self, n: int) -> int:
        return max(self.rounds, int(n * self.scale))

    def __post_init__(self) -> None:
        assert self.direct.process is not None and self.gateway.process is not None
        self.direct_cpu = cpu_meter(self.direct.process.pid)  # the child's own CPU: what the direct call costs it
        self.gateway_cpu = cpu_meter(self.gateway.process.pid)  # the gateway alone, its child excluded

    def url(self, transport: str) -> str:
        return self.gateway.base_url + "/sse" if transport == "sse" else self.gateway.url


def failed_row(title: str, exc: BaseException) -> Row:
    message = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
    return Row(title, "", f"failed: {message[:200]}", "", "error", met=False, data={"error": message})


def cpu_meter(pid: int) -> Callable[[], float]:
    """Cumulative user + system CPU seconds of one process."""
    process = psutil.Process(pid)

    def read() -> float:
        times = process.cpu_times()
        return times.user + times.system

    return read


Side = tuple[list[Session], Work, Stats, Callable[[], float]]


async def interleaved(sides: list[Side], per_client: int, rounds: int) -> None:
    per_round = max(1, per_client // rounds)
    deadline = time.perf_counter() + SCENARIO_BUDGET
    for index in range(rounds):
        shift = index % len(sides)  # rotate who goes first: with two sides, ABBA
        order = sides[shift:] + sides[:shift]
        for sessions, work, into, cpu in order:
            before = cpu()
            stats = await drive(sessions, per_round, work, first=index * per_round, deadline=deadline)
            stats.cpu = cpu() - before
            into.merge(stats)


async def run_load(bench: Bench, scenario: LoadScenario) -> Row:
    n = bench.count(scenario.n)
    direct_work = Work(scenario.tool, scenario.kib)
    gateway_work = Work(f"{CHILD}__{scenario.tool}", scenario.kib)
    direct_sessions: list[Session] = [bench.direct] * scenario.c
    clients = await open_clients(
        bench.url(scenario.transport), scenario.c, transport=scenario.transport, era=scenario.era, key=bench.key
    )
    direct, gateway = Stats(), Stats()
    try:
        await drive(direct_sessions, WARMUP_CALLS, direct_work, first=-WARMUP_CALLS)
        await drive(clients, WARMUP_CALLS, gateway_work, first=-WARMUP_CALLS)
        sides: list[Side] = [
            (direct_sessions, direct_work, direct, bench.direct_cpu),
            (clients, gateway_work, gateway, bench.gateway_cpu),
        ]
        await interleaved(sides, n, bench.rounds)
    finally:
        await close_all(clients)
    p50 = ratio(gateway.percentile(0.5), direct.percentile(0.5))
    rate = ratio(gateway.rate, direct.rate)
    met = None
    target = ""
    if scenario.target:
        what, bound = scenario.target
        if what == "p50":
            target, met = f"p50 ≤ {bound}x", p50 is not None and p50 <= bound
        else:
            target, met = f"calls/s ≥ {bound}x", rate is not None and rate >= bound
    errors = f"{gateway.errors}/{gateway.calls}" + (f" (direct {direct.errors})" if direct.errors else "")
    if gateway.cut or direct.cut:
        errors += f"; stopped at the {SCENARIO_BUDGET:.0f} s budget"
    if gateway.first_error:
        errors += f": {gateway.first_error[:120]}"
    return Row(
        scenario.title,
        latency_cell(direct, "child"),
        latency_cell(gateway, "gateway"),
        f"p50 {times(p50)} · calls/s {times(rate)}",
        errors,
        target,
        met=met and not gateway.errors if met is not None else None,
        data={"direct": direct.summary(), "gateway": gateway.summary(), "p50_ratio": p50, "rate_ratio": rate},
    )


async def first_call(url: str, key: str | None, started_at: float) -> tuple[float, Session]:
    """Seconds from `started_at` (perf_counter) to the first successful echo through the gateway."""
    deadline = time.perf_counter() + FIRST_CALL_TIMEOUT
    session: StreamableSession | None = None
    last: Exception | None = None
    while time.perf_counter() < deadline:
        try:
            if session is None:
                session = await StreamableSession(url, key=key).open()
            result = await session.call(f"{CHILD}__echo", {"text": "first"})
            if result["content"][0]["text"] == "first":
                return time.perf_counter() - started_at, session
        except Exception as exc:  # the child is still starting: its tools are not in the catalog yet
            last = exc
        await asyncio.sleep(0.005)
    raise TimeoutError(f"no served call within {FIRST_CALL_TIMEOUT:.0f} s: {last}")


async def direct_start() -> tuple[float, int]:
    """Seconds from spawning the child to its first answered echo, and its RSS then."""
    started = time.perf_counter()
    session = await StdioSession(CHILD_ARGV, cwd=str(ROOT)).open()
    try:
        await session.call("echo", {"text": "first"})
        elapsed = time.perf_counter() - started
        rss = child_rss(session)
    finally:
        await session.close()
    return elapsed, rss


def child_rss(session: StdioSession) -> int:
    assert session.process is not None
    return psutil.Process(session.process.pid).memory_info().rss


async def gateway_start(make: Any, key: str | None) -> tuple[float, int, int]:
    """A fresh gateway process: seconds to its first served call, then its RSS at rest (own, with children)."""
    gateway: GatewayProcess = make()
    try:
        await gateway.start()
        elapsed, session = await first_call(gateway.url, key, gateway.started_at)
        await session.close()
        await asyncio.sleep(0.5)  # let the first call's garbage settle before reading RSS at rest
        rss = gateway.rss()
    finally:
        await gateway.stop()
    return elapsed, rss.own, rss.with_children


async def startup_rows(make: Any, key: str | None, repeats: int) -> list[Row]:
    direct = [await direct_start() for _ in range(repeats)]
    gateway = [await gateway_start(make, key) for _ in range(repeats)]
    direct_s = statistics.median(d[0] for d in direct)
    child = statistics.median(d[1] for d in direct)
    start_s = statistics.median(g[0] for g in gateway)
    own = statistics.median(g[1] for g in gateway)
    total = statistics.median(g[2] for g in gateway)
    note = f"median of {repeats} fresh starts"
    return [
        Row(
            "start to first served call",
            f"{ms(direct_s * 1000)} ms (spawn to first echo)",
            f"{ms(start_s * 1000)} ms ({note})",
            times(ratio(start_s, direct_s)),
            "",
            "≤ 1 s",
            met=start_s <= 1.0,
            data={"direct_s": direct_s, "gateway_s": start_s, "runs": {"direct": direct, "gateway": gateway}},
        ),
        Row(
            "RSS at rest, gateway alone",
            f"{mb(child)} (the child alone)",
            f"{mb(own)} (after the first call, {note})",
            times(ratio(own, child)),
            "",
            "≤ 50 MB",
            met=own <= 50 * MB,
            data={"child_rss": child, "gateway_rss": own},
        ),
        Row(
            "RSS at rest, gateway with its child",
            f"{mb(child)}",
            f"{mb(total)}",
            times(ratio(total, child)),
            data={"child_rss": child, "gateway_with_children_rss": total},
        ),
    ]


def peak_rows(bench: Bench) -> list[Row]:
    gateway = bench.gateway
    gateway.rss()
    own = gateway.high_water()
    total = gateway.peak.with_children
    child = child_rss(bench.direct)
    return [
        Row(
            "peak RSS under the load above, gateway alone",
            f"{mb(child)} (the direct child)",
            f"{mb(own)} (kernel high-water mark)",
            times(ratio(own, child)),
            data={"child_rss": child, "gateway_peak": own},
        ),
        Row(
            "peak RSS under the load above, with its child",
            f"{mb(child)}",
            f"{mb(total)} (sampled every 0.1 s)",
            times(ratio(total, child)),
            data={"child_rss": child, "gateway_with_children_peak": total},
        ),
    ]


async def idle_sessions(bench: Bench, count: int) -> list[Row]:
    """Open `count` Streamable HTTP sessions and hold them; then RSS, a latency check and a call on each."""
    gateway = bench.gateway
    await asyncio.sleep(0.5)
    before = gateway.rss().own
    semaphore = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one() -> StreamableSession | BaseException:
        async with semaphore:
            try:
                return await StreamableSession(gateway.url, key=bench.key).open()
            except Exception as exc:
                return exc

    started = time.perf_counter()
    opened = await asyncio.gather(*(one() for _ in range(count)))
    open_s = time.perf_counter() - started
    held = [s for s in opened if isinstance(s, StreamableSession)]
    failures = [s for s in opened if not isinstance(s, StreamableSession)]
    await asyncio.sleep(1.0)
    after = gateway.rss().own
    child = child_rss(bench.direct)
    rows = [
        Row(
            f"{count:,} idle sessions opened and held: gateway RSS",
            f"{mb(child)} (the direct child)",
            f"{mb(after)}: +{mb(after - before)}, {(after - before) / max(1, len(held)) / 1024:.1f} KiB/session;"
            f" opened in {open_s:.1f} s",
            times(ratio(after, child)),
            f"{len(failures)}/{count} failed to open" + (f": {failures[0]!r}"[:160] if failures else ""),
            met=None,
            data={"before": before, "after": after, "held": len(held), "open_s": open_s, "child_rss": child},
        )
    ]
    try:
        direct, through = Stats(), Stats()
        work = Work("echo")
        gateway_work = Work(f"{CHILD}__echo")
        probe: list[Session] = held[:1]
        await drive(probe, WARMUP_CALLS, gateway_work, first=-WARMUP_CALLS)
        sides: list[Side] = [
            ([bench.direct], work, direct, bench.direct_cpu),
            (probe, gateway_work, through, bench.gateway_cpu),
        ]
        await interleaved(sides, bench.count(100), bench.rounds)
        p50 = ratio(through.percentile(0.5), direct.percentile(0.5))
        rows.append(
            Row(
                f"echo c=1 x {bench.count(100)} with {len(held):,} sessions held",
                latency_cell(direct, "child"),
                latency_cell(through, "gateway"),
                f"p50 {times(p50)}",
                f"{through.errors}/{through.calls}",
                "p50 ≤ 2.5x",
                met=p50 is not None and p50 <= 2.5 and not through.errors,
                data={"direct": direct.summary(), "gateway": through.summary(), "p50_ratio": p50},
            )
        )
        every = Stats()
        batch = 8
        for index in range(0, len(held), batch):
            every.merge(await drive(held[index : index + batch], 1, gateway_work, first=10_000))
        rows.append(
            Row(
                f"a call on each of the {len(held):,} held sessions (c=8)",
                "",
                f"{len(every.latencies):,} answered · " + latency_cell(every),
                "",
                f"{every.errors}/{every.calls}" + (f": {every.first_error[:120]}" if every.first_error else ""),
                "all answer",
                met=every.errors == 0 and len(held) == count,
                data={"gateway": every.summary()},
            )
        )
    finally:
        await asyncio.gather(*(s.conn.close() for s in held), return_exceptions=True)
    return rows
