"""Start to first served call and RSS at rest: fresh processes of every side, the child's own start beside them.

Each side is spawned fresh, `repeats` times, and timed from spawn to its first correct echo; the
child alone is timed from spawn to its first echo over stdio, and that is subtracted, since every
side has to start the same child. RSS at rest is read 0.5 s after that first call.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from bench.gateway import CHILD_ARGV, ROOT
from bench.report import Row, fmt_ratio, mb, ms, ratio, times
from bench.scenarios import Bench, child_rss, describe
from bench.sessions import StdioSession
from bench.targets import SWITCHBOARD, Contender

START_GOAL_S = 1.0
RSS_GOAL_MB = 50


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


async def fresh_start(contender: Contender) -> tuple[float, int, int]:
    """A fresh process: seconds to its first served call, then its RSS at rest (alone, with children)."""
    target = await contender.launch()
    try:
        elapsed, session = await target.first_call()
        await session.close()
        await asyncio.sleep(0.5)  # let the first call's garbage settle before reading RSS at rest
        rss = target.process.rss()
    finally:
        await target.process.stop()
    return elapsed, rss.own, rss.with_children


def _name(contender: Contender) -> str:
    return SWITCHBOARD if contender.column == SWITCHBOARD else f"{contender.column} {contender.label}"


async def startup_rows(bench: Bench, contenders: list[Contender], repeats: int) -> list[Row]:
    direct: list[tuple[float, int]] = []
    runs: dict[str, list[tuple[float, int, int]]] = {}
    failed: dict[str, str] = {}
    for _ in range(repeats):  # round by round, the child alone first, so a drift in the machine hits all alike
        direct.append(await direct_start())
        for contender in contenders:
            name = _name(contender)
            if name in failed:
                continue
            try:
                runs.setdefault(name, []).append(await fresh_start(contender))
            except Exception as exc:
                failed[name] = f"failed: {describe(exc)}"
                runs.pop(name, None)
    child_s = statistics.median(d[0] for d in direct)
    child = statistics.median(d[1] for d in direct)
    start = {name: statistics.median(r[0] for r in rs) for name, rs in runs.items()}
    own = {name: statistics.median(r[1] for r in rs) for name, rs in runs.items()}
    total = {name: statistics.median(r[2] for r in rs) for name, rs in runs.items()}
    peers = [name for name in runs if name != SWITCHBOARD]
    best_start = min(peers, key=lambda name: start[name], default=None)
    best_rss = min(peers, key=lambda name: own[name], default=None)

    def excluded(name: str) -> float:
        return start[name] - child_s

    start_cells = {n: f"{ms(start[n] * 1000)} minus {ms(child_s * 1000)} = {ms(excluded(n) * 1000)} ms" for n in start}
    rss_cells = {n: f"{mb(own[n])} ({mb(total[n])} with its child)" for n in own}
    sb_start = excluded(SWITCHBOARD) if SWITCHBOARD in start else None
    sb_rss = own.get(SWITCHBOARD)
    note = f"median of {repeats} fresh starts"
    data: dict[str, Any] = {"child_s": child_s, "child_rss": child, "runs": runs, "failed": failed, "direct": direct}
    return [
        Row(
            f"start to first served call: spawn to first echo minus the child's own start ({note})",
            direct=f"the child alone: {ms(child_s * 1000)} ms spawn to first echo",
            switchboard=start_cells.get(SWITCHBOARD, failed.get(SWITCHBOARD, "")),
            peers=bench.peer_cells({**start_cells, **failed}),
            vs_peer=fmt_ratio(
                ratio(sb_start, excluded(best_start)) if best_start and sb_start is not None else None, best_start
            ),
            vs_direct=f"with the child's start {times(ratio(start.get(SWITCHBOARD), child_s))}",
            goals=[(f"≤ {START_GOAL_S:.0f} s, the child's start excluded", sb_start is not None and sb_start <= 1.0)],
            data={**data, "start_s": start, "excluded_s": {n: excluded(n) for n in start}},
        ),
        Row(
            f"RSS at rest, after the first call: the server process alone ({note})",
            direct=f"{mb(child)} (the child alone)",
            switchboard=rss_cells.get(SWITCHBOARD, failed.get(SWITCHBOARD, "")),
            peers=bench.peer_cells({**rss_cells, **failed}),
            vs_peer=fmt_ratio(ratio(sb_rss, own[best_rss]) if best_rss and sb_rss else None, best_rss),
            vs_direct=times(ratio(sb_rss, child)),
            goals=[(f"≤ {RSS_GOAL_MB} MB", sb_rss is not None and sb_rss <= RSS_GOAL_MB * 1024 * 1024)],
            data={**data, "rss": own, "rss_with_children": total},
        ),
    ]
