"""Idle sessions: each side opens many sessions, holds them, and is charged the RSS they cost.

Switchboard and mcp-proxy hold Streamable HTTP sessions (initialize + initialized, then nothing);
supergateway's SSE mode holds SSE streams (GET /sse; an initialize there would only go to the one
shared child, and each answer to every stream). supergateway --stateful spawns a child per
session, so it gets a few sessions only and is charged the children too.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.load import Stats, Work, drive
from bench.report import Row, fmt_ratio, latency_cell, mb, ratio, times
from bench.scenarios import WARMUP_CALLS, Bench, Side, describe, interleaved
from bench.sessions import Session
from bench.targets import SWITCHBOARD, Target

OPEN_CONCURRENCY = 50  # sessions opened at once
PER_SESSION_CHILDREN = 8  # sessions held on a side that spawns a child for each
KIB_GOAL = 30


async def hold(target: Target, count: int) -> dict[str, Any]:
    """Open `count` sessions on the target's idle wire and hold them; RSS before and after."""
    assert target.idle_wire is not None
    wire = target.idle_wire
    await asyncio.sleep(0.5)
    before = target.process.rss()
    semaphore = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one() -> Session | BaseException:
        async with semaphore:
            try:
                return await target.open(wire, handshake=wire != "sse")
            except Exception as exc:
                return exc

    started = time.perf_counter()
    opened = await asyncio.gather(*(one() for _ in range(count)))
    open_s = time.perf_counter() - started
    held = [s for s in opened if not isinstance(s, BaseException)]
    failures = [s for s in opened if isinstance(s, BaseException)]
    await asyncio.sleep(1.0)
    after = target.process.rss()
    grown = (after.with_children - before.with_children) if target.per_session else (after.own - before.own)
    return {
        "held": held,
        "failures": failures,
        "open_s": open_s,
        "before": before.own,
        "after": after.own,
        "before_with_children": before.with_children,
        "after_with_children": after.with_children,
        "kib_each": grown / max(1, len(held)) / 1024,
        "own_kib_each": (after.own - before.own) / max(1, len(held)) / 1024,
    }


def cell(target: Target, result: dict[str, Any], count: int) -> str:
    held = len(result["held"])
    what = "SSE streams" if target.idle_wire == "sse" else "sessions"
    text = f"{result['kib_each']:,.1f} KiB each ({held:,} {what}, opened in {result['open_s']:.1f} s"
    if target.per_session:
        text = (
            f"{result['kib_each'] / 1024:,.1f} MB each with its own child, {result['own_kib_each']:,.1f} KiB in the"
            f" gateway ({held} sessions: one child each, so not {count:,}"
        )
    text += f"; {mb(result['after'])} after)"
    if result["failures"]:
        text += f" · {len(result['failures'])} failed to open: {describe(result['failures'][0])[:100]}"
    return text


async def release(target: Target, held: list[Session]) -> None:
    if target.per_session:  # DELETE each session, so its child goes now rather than at the end of the run
        await asyncio.gather(*(s.close() for s in held), return_exceptions=True)
    else:  # just drop the connections; the server keeps what it keeps
        await asyncio.gather(*(getattr(s, "conn", s).close() for s in held), return_exceptions=True)


async def idle_rows(bench: Bench, count: int) -> list[Row]:
    figures: dict[str, str] = {}
    each: dict[str, float] = {}
    extra: list[Row] = []
    data: dict[str, Any] = {}
    for target in bench.targets:
        if target.idle_wire is None:
            continue
        n = min(count, PER_SESSION_CHILDREN) if target.per_session else count
        try:
            result = await hold(target, n)
        except Exception as exc:
            figures[target.name] = f"failed: {describe(exc)}"
            continue
        try:
            figures[target.name] = cell(target, result, count)
            data[target.name] = {k: v for k, v in result.items() if k not in ("held", "failures")}
            data[target.name]["failed"] = len(result["failures"])
            if result["held"] and not result["failures"] and result["kib_each"] > 0:  # RSS can fall (a GC)
                each[target.name] = result["kib_each"]
            if target.column == SWITCHBOARD:
                extra = await held_checks(bench, target, result["held"])
        finally:
            await release(target, result["held"])
    sb = each.get(SWITCHBOARD)
    best = min((name for name in each if name != SWITCHBOARD), key=lambda name: each[name], default=None)
    row = Row(
        f"{count:,} idle sessions opened ({OPEN_CONCURRENCY} at a time) and held: RSS growth per session",
        direct="",
        switchboard=figures.get(SWITCHBOARD, ""),
        peers=bench.peer_cells(figures),
        vs_peer=fmt_ratio(ratio(sb, each[best]) if best and sb is not None else None, best),
        errors="" if SWITCHBOARD in each else "sessions failed to open",
        goals=[(f"≤ {KIB_GOAL} KiB each", sb is not None and sb <= KIB_GOAL)],
        data=data,
    )
    return [row, *extra]


async def held_checks(bench: Bench, target: Target, held: list[Session]) -> list[Row]:
    """With every session still held: Switchboard's c=1 latency against direct, then a call on each session."""
    direct, through = Stats(), Stats()
    work = Work(target.tool("echo"))
    probe = held[:1]
    await drive(probe, WARMUP_CALLS, work, first=-WARMUP_CALLS)
    n = bench.count(100)
    sides = [
        Side("direct", [bench.direct], Work("echo"), n, bench.direct_cpu, direct),
        Side(target.name, probe, work, n, target.cpu, through),
    ]
    await interleaved(sides, bench.rounds)
    p50 = ratio(through.percentile(0.5), direct.percentile(0.5))
    every = Stats()
    batch = 8
    for index in range(0, len(held), batch):
        every.merge(await drive(held[index : index + batch], 1, work, first=10_000))
    return [
        Row(
            f"echo c=1 x {n} with {len(held):,} sessions held",
            direct=latency_cell(direct, "child"),
            switchboard=latency_cell(through),
            vs_direct=f"p50 {times(p50)}",
            errors=f"{through.errors}/{through.calls}",
            data={"direct": direct.summary(), "gateway": through.summary(), "p50_ratio": p50},
        ),
        Row(
            f"a call on each of the {len(held):,} held sessions (c=8)",
            switchboard=f"{len(every.latencies):,} answered · " + latency_cell(every),
            errors=f"{every.errors}/{every.calls}" + (f": {every.first_error[:120]}" if every.first_error else ""),
            goals=[("all answer", every.errors == 0 and len(every.latencies) == len(held))],
            data={"gateway": every.summary()},
        ),
    ]
