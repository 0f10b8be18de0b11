"""The load scenarios: direct stdio, Switchboard and every peer on the same wire, interleaved in one run.

Sides run in rounds, in one order and then the reverse (ABBA; with more sides ABC…CBA), so a
drift in the machine's speed during the run falls on every side alike. Each side has its own time
budget per scenario, so a slow peer bounds its own sample, not Switchboard's. `bench.ab` rotates
gateway variants the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from bench.load import Stats, Work, close_all, drive
from bench.peers import HANDSHAKE, MODERN, SSE, PeerMode
from bench.report import Row, fmt_ratio, latency_cell, mb, ratio, times
from bench.sessions import Session, StdioSession
from bench.targets import SWITCHBOARD, Target, cpu_meter

SIDE_BUDGET = 6.0  # seconds of calls per side per load scenario; then it stops early and says so
SCENARIO_TIMEOUT = 90.0  # a scenario that overruns this is cut off and reported as failed
WARMUP_CALLS = 5
PER_REQUEST_CALLS = 5  # calls per scenario through a peer that spawns the child for every request

WIRE_TITLES = {HANDSHAKE: "Streamable HTTP 2025-11-25", MODERN: "Streamable HTTP 2026-07-28", SSE: "legacy SSE"}


@dataclass(frozen=True)
class LoadScenario:
    kind: str  # "echo c=1", "echo c=8", "256 KiB": the same kind on every wire is compared across wires
    c: int
    n: int
    wire: str
    kib: int = 0
    goals: tuple[tuple[str, float], ...] = ()  # ("peer", 0.6): ≤ 0.6x best peer; ("direct", 2.0): ≤ 2x direct

    @property
    def tool(self) -> str:
        return "blob" if self.kib else "echo"

    @property
    def metric(self) -> str:
        """What this scenario is judged on: p50 for one client, calls/s for eight."""
        return "rate" if self.c > 1 else "p50"

    @property
    def title(self) -> str:
        return f"{self.kind} x {self.n} · {WIRE_TITLES[self.wire]}"


def _scenarios() -> list[LoadScenario]:
    scenarios = []
    for wire in (HANDSHAKE, MODERN, SSE):
        headline = wire == HANDSHAKE  # the peer goals; the other wires are held to this one (era_goals)
        scenarios += [
            LoadScenario("echo c=1", 1, 300, wire, goals=(("peer", 0.6), ("direct", 2.0)) if headline else ()),
            LoadScenario("echo c=8", 8, 100, wire, goals=(("peer", 1.5),) if headline else ()),
            LoadScenario("256 KiB c=1", 1, 50, wire, kib=256, goals=(("peer", 0.8),) if headline else ()),
        ]
    return scenarios


LOAD_SCENARIOS = _scenarios()
ERA_BOUND = 1.2  # each other wire within 1.2x of the handshake era's figure


@dataclass
class Bench:
    """What the scenarios share: the servers under test, the direct child, and what could not run."""

    targets: list[Target]
    direct: StdioSession
    unavailable: dict[str, str] = field(default_factory=dict)  # peer mode name -> why; a program name for all
    modes: list[PeerMode] = field(default_factory=list)  # every peer mode, available or not, in table order
    rounds: int = 2
    scale: float = 1.0  # < 1 shrinks every count (a quick run)
    direct_cpu: Callable[[], float] = field(init=False)

    def __post_init__(self) -> None:
        assert self.direct.process is not None
        self.direct_cpu = cpu_meter(self.direct.process.pid)  # the child's own CPU: what a direct call costs it

    def count(self, n: int) -> int:
        return max(self.rounds, int(n * self.scale))

    @property
    def switchboard(self) -> Target:
        return next(t for t in self.targets if t.column == SWITCHBOARD)

    @property
    def peers(self) -> list[Target]:
        return [t for t in self.targets if t.is_peer]

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys(mode.program for mode in self.modes))

    def peer_cells(self, figures: dict[str, str], wire: str | None = None) -> dict[str, str]:
        """One cell per peer program: a line per mode (those serving `wire`), its figure or why it has none."""
        cells: dict[str, str] = {}
        for program in self.columns:
            if program in self.unavailable:
                cells[program] = f"peer unavailable: {self.unavailable[program]}"
                continue
            mine = [m for m in self.modes if m.program == program]
            reasons = {self.unavailable.get(m.name) for m in mine}
            if len(reasons) == 1 and None not in reasons:  # every mode down for one reason: say it once
                cells[program] = f"peer unavailable: {reasons.pop()}"
                continue
            lines = []
            for mode in mine:
                if wire is not None and wire not in mode.wires:
                    continue
                if mode.name in self.unavailable:
                    lines.append(f"{mode.label}: peer unavailable: {self.unavailable[mode.name]}")
                elif mode.name in figures:
                    lines.append(f"{mode.label}: {figures[mode.name]}")
                elif wire is not None:
                    lines.append(f"{mode.label}: not measured")
            cells[program] = "<br>".join(lines) or ("does not serve this wire" if wire else "")
        return cells


@dataclass
class Side:
    name: str
    sessions: list[Session]
    work: Work
    per_client: int
    cpu: Callable[[], float]
    stats: Stats = field(default_factory=Stats)
    spent: float = 0.0  # seconds of its budget used so far


async def interleaved(sides: list[Side], rounds: int, budget: float = SIDE_BUDGET) -> None:
    """Rounds of every side in turn, forward then reversed (ABBA), each side within its own budget."""
    perf = time.perf_counter
    for index in range(rounds):
        order = sides if index % 2 == 0 else sides[::-1]
        shift = (index // 2) % len(sides)  # beyond two rounds, rotate who goes first as well
        for side in order[shift:] + order[:shift]:
            per_round = max(1, side.per_client // rounds)
            started = perf()
            before = side.cpu()
            stats = await drive(
                side.sessions, per_round, side.work, first=index * per_round, deadline=started + budget - side.spent
            )
            stats.cpu = side.cpu() - before
            side.spent += perf() - started
            side.stats.merge(stats)


def failed_row(title: str, exc: BaseException) -> Row:
    message = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
    return Row(title, switchboard=f"failed: {message[:200]}", errors="failed", data={"error": message})


def describe(exc: BaseException) -> str:
    return "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"[:160]


def value(stats: Stats, metric: str) -> float | None:
    """The scenario's figure, only for a side with no errors: a side that answered wrongly sets no bar."""
    if stats.errors or not stats.latencies:
        return None
    return stats.rate if metric == "rate" else stats.percentile(0.5)


def side_cell(stats: Stats, cpu_of: str, budget_note: bool = True) -> str:
    cell = latency_cell(stats, cpu_of)
    if stats.errors:
        cell += f" · {stats.errors}/{stats.calls} errors: {(stats.first_error or '')[:100]}"
    if stats.cut and budget_note:
        cell += f" · stopped at its {SIDE_BUDGET:.0f} s budget"
    return cell


def goal_marks(scenario: LoadScenario, vs_peer: float | None, vs_direct: float | None, ok: bool) -> list[Any]:
    goals: list[tuple[str, bool | None]] = []
    for what, bound in scenario.goals:
        if what == "peer":
            sign = "≥" if scenario.metric == "rate" else "≤"
            text = f"{'calls/s' if scenario.metric == 'rate' else 'p50'} {sign} {bound}x best peer"
            if vs_peer is None:
                goals.append((text + " (no peer figure)", None))
            else:
                goals.append((text, ok and (vs_peer >= bound if scenario.metric == "rate" else vs_peer <= bound)))
        else:
            goals.append((f"p50 ≤ {bound}x direct", ok and vs_direct is not None and vs_direct <= bound))
    return goals


async def run_load(bench: Bench, scenario: LoadScenario) -> Row:
    n = bench.count(scenario.n)
    direct = Side("direct", [bench.direct] * scenario.c, Work(scenario.tool, scenario.kib), n, bench.direct_cpu)
    sides = [direct]
    failures: dict[str, str] = {}
    alone: list[Target] = []  # sides that spawn a child per call: measured after the others, not among them
    try:
        for target in bench.targets:
            if scenario.wire not in target.urls:
                continue
            if scenario.wire in target.per_request:
                if scenario.c > 1:
                    failures[target.name] = f"not run at c={scenario.c}: it starts the child for every request"
                else:
                    alone.append(target)
                continue
            work = Work(target.tool(scenario.tool), scenario.kib)
            try:
                clients = await target.open_many(scenario.wire, scenario.c)
            except Exception as exc:
                failures[target.name] = f"failed to open: {describe(exc)}"
                continue
            sides.append(Side(target.name, clients, work, n, target.cpu))
            warm = await drive(clients, WARMUP_CALLS, work, first=-WARMUP_CALLS)
            if warm.errors == warm.calls:  # it does not serve this wire at all: say why, spend nothing more
                failures[target.name] = f"every call failed: {warm.first_error}"
                await close_all(sides.pop().sessions)
        await drive(direct.sessions, WARMUP_CALLS, direct.work, first=-WARMUP_CALLS)
        await interleaved(sides, bench.rounds)
    finally:
        for side in sides[1:]:
            await close_all(side.sessions)
    for target in alone:
        # Every call (and its handshake) starts a Python child; among the other sides those starts would
        # load the machine under them. So: a few calls, on their own, then wait until its children are gone.
        try:
            sides.append(await run_alone(target, scenario, bench.count(PER_REQUEST_CALLS)))
        except Exception as exc:
            failures[target.name] = f"failed: {describe(exc)}"
        finally:
            await settle(target)
    return load_row(bench, scenario, sides, failures, {t.name: bench.count(PER_REQUEST_CALLS) for t in alone})


async def run_alone(target: Target, scenario: LoadScenario, calls: int) -> Side:
    clients = await target.open_many(scenario.wire, scenario.c)
    try:
        work = Work(target.tool(scenario.tool), scenario.kib)
        side = Side(target.name, clients, work, calls, target.cpu)
        await interleaved([side], 1)
    finally:
        await close_all(clients)
    return side


async def settle(target: Target, timeout: float = 10.0) -> None:
    """Wait (bounded) until the target has no child processes left running."""
    assert target.process.ps is not None
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            if not target.process.ps.children(recursive=True):
                return
        except psutil.Error:
            return
        await asyncio.sleep(0.05)


def load_row(
    bench: Bench, scenario: LoadScenario, sides: list[Side], failures: dict[str, str], per_request: dict[str, int]
) -> Row:
    metric = scenario.metric
    direct = sides[0].stats
    by_name = {side.name: side.stats for side in sides}
    sb = by_name.get(SWITCHBOARD)
    best_name, best = None, None
    for target in bench.peers:
        figure = value(by_name[target.name], metric) if target.name in by_name else None
        if figure is not None and (best is None or (figure > best if metric == "rate" else figure < best)):
            best_name, best = target.name, figure
    sb_value = value(sb, metric) if sb else None
    vs_peer = ratio(sb_value, best)
    vs_direct = ratio(sb_value, value(direct, metric))
    figures: dict[str, str] = {}
    for target in bench.peers:
        if target.name in failures:
            figures[target.name] = failures[target.name]
        elif target.name in by_name:
            note = f" · a child per request ({per_request[target.name]} calls)" if target.name in per_request else ""
            figures[target.name] = side_cell(by_name[target.name], "", budget_note=not note) + note
    ok = sb is not None and not sb.errors
    errors = f"{sb.errors}/{sb.calls}" if sb else failures.get(SWITCHBOARD, "not run")
    if sb and sb.cut:
        errors += f"; stopped at the {SIDE_BUDGET:.0f} s budget"
    return Row(
        scenario.title,
        direct=side_cell(direct, "child"),
        switchboard=side_cell(sb, "") if sb else failures.get(SWITCHBOARD, "not run"),
        peers=bench.peer_cells(figures, scenario.wire),
        vs_peer=fmt_ratio(vs_peer, best_name),
        vs_direct=f"{'calls/s' if metric == 'rate' else 'p50'} {times(vs_direct)}",
        errors=errors,
        goals=goal_marks(scenario, vs_peer, vs_direct, ok),
        data={
            "kind": scenario.kind,
            "wire": scenario.wire,
            "metric": metric,
            "switchboard_value": sb_value,
            "best_peer": best_name,
            "best_peer_value": best,
            "vs_peer": vs_peer,
            "vs_direct": vs_direct,
            "sides": {side.name: side.stats.summary() for side in sides},
            "failures": failures,
        },
    )


def era_goals(rows: list[Row]) -> None:
    """Hold each other wire's figure to the handshake era's for the same kind: within ERA_BOUND."""
    headline = {r.data["kind"]: r for r in rows if r.data.get("wire") == HANDSHAKE}
    for row in rows:
        wire = row.data.get("wire")
        if wire not in (MODERN, SSE):
            continue
        base = headline.get(row.data["kind"])
        mine = row.data.get("switchboard_value")
        theirs = base.data.get("switchboard_value") if base else None
        text = f"within {ERA_BOUND}x of 2025-11-25"
        if mine is None or theirs is None:
            row.goals.append((text + " (no figure)", False))
            continue
        worse = theirs / mine if row.data["metric"] == "rate" else mine / theirs  # > 1: this wire is slower
        row.goals.append((f"{text} ({worse:.2f}x)", worse <= ERA_BOUND))
        row.data["vs_handshake"] = worse


def peak_rows(bench: Bench) -> list[Row]:
    """The kernel's high-water mark of each server under the load above, beside the direct child's RSS."""
    child = child_rss(bench.direct)
    figures: dict[str, str] = {}
    raw: dict[str, int] = {}
    for target in bench.targets:
        target.process.rss()
        raw[target.name] = target.process.high_water()
        figures[target.name] = f"{mb(raw[target.name])} ({mb(target.process.peak.with_children)} with children)"
    sb = bench.switchboard.name
    best_name = min((t.name for t in bench.peers), key=lambda name: raw[name], default=None)
    return [
        Row(
            "peak RSS under the load above (kernel high-water mark; with children sampled every 0.1 s)",
            direct=f"{mb(child)} (the direct child)",
            switchboard=figures[sb],
            peers=bench.peer_cells(figures),
            vs_peer=fmt_ratio(ratio(raw[sb], raw[best_name]) if best_name else None, best_name),
            vs_direct=times(ratio(raw[sb], child)),
            data={"child_rss": child, "high_water": raw},
        )
    ]


def child_rss(session: StdioSession) -> int:
    assert session.process is not None
    return int(psutil.Process(session.process.pid).memory_info().rss)
