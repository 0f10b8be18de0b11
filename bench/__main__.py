"""`make bench`: Switchboard against direct stdio and the peer gateways, one run; one markdown table, the same as JSON.

    python -m bench [--quick] [--no-peers] [--patch gc] [--sessions 1000] [--out bench/results]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.bigresult import big_rows
from bench.crosstalk import crosstalk_rows
from bench.gateway import CHILD_ARGV, ROOT, GatewayProcess, show_key, write_config
from bench.history_ab import history_rows
from bench.idle import idle_rows
from bench.peers import PEER_MODES, VERSIONS, PeerProcess, install
from bench.report import Row, machine, markdown, write_json
from bench.scenarios import (
    LOAD_SCENARIOS,
    SCENARIO_TIMEOUT,
    Bench,
    describe,
    era_goals,
    failed_row,
    peak_rows,
    run_load,
    settle,
)
from bench.sessions import StdioSession
from bench.startup import startup_rows
from bench.targets import Contender, Target, peer_contender, peer_target, switchboard_contender, switchboard_target

RESULTS = ROOT / "bench" / "results"
RUN_BUDGET = 285.0  # seconds for everything after the peers' install; a scenario past it is skipped and says so


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Budget:
    """The whole run's time bound: each scenario gets what is left of it, at most its own timeout."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.perf_counter() + seconds

    async def run(
        self, title: str, step: Callable[[], Awaitable[list[Row]]], limit: float = SCENARIO_TIMEOUT
    ) -> list[Row]:
        left = self.deadline - time.perf_counter()
        if left <= 0:
            return [Row(title, switchboard="not run: the run's time budget was spent", errors="skipped")]
        progress(f"· {title}")
        try:
            return await asyncio.wait_for(step(), min(limit, left))
        except Exception as exc:
            return [failed_row(title, exc)]


async def start_peers(home: Path, unavailable: dict[str, str]) -> list[Target]:
    """Every available peer mode, started and answering; a mode that cannot is noted with the reason."""
    targets = []
    for mode in PEER_MODES:
        if mode.program in unavailable:
            continue
        peer = PeerProcess(mode, home / "peers")
        try:
            await peer.start()
            target = peer_target(peer)
            _, warm = await target.first_call()
            await warm.close()
            if target.per_request or target.per_session:  # the children its first call started: gone first
                await settle(target)
        except Exception as exc:
            await peer.stop()
            unavailable[mode.name] = describe(exc)
            progress(f"peer {mode.name}: unavailable: {unavailable[mode.name]}")
            continue
        progress(f"peer {mode.name} at {peer.base_url}")
        targets.append(target)
    return targets


async def run(args: argparse.Namespace, home: Path, unavailable: dict[str, str]) -> list[Row]:
    budget = Budget(RUN_BUDGET)
    config = write_config(home)
    make = functools.partial(GatewayProcess, home, config, args.patch)
    rows: list[Row] = []
    gateway = make()
    await gateway.start()
    targets: list[Target] = []
    try:
        key = await asyncio.to_thread(show_key, config, home)
        progress(f"Switchboard at {gateway.url} ({'API key from show-key' if key else 'no API key'})")
        switchboard = switchboard_target(gateway, key)
        _, warm = await switchboard.first_call()
        await warm.close()
        targets = [switchboard, *(await start_peers(home, unavailable) if not args.no_peers else [])]
        direct = await StdioSession(CHILD_ARGV, cwd=str(ROOT)).open()
        modes = [] if args.no_peers else PEER_MODES
        bench = Bench(targets, direct, unavailable, modes, scale=0.2 if args.quick else 1.0)
        samplers = [asyncio.create_task(t.process.sample()) for t in targets]
        try:
            for scenario in LOAD_SCENARIOS:
                rows += await budget.run(scenario.title, lambda s=scenario: _one(run_load(bench, s)))  # type: ignore[misc]
            era_goals(rows)
            rows += await budget.run("answers reach their caller", lambda: crosstalk_rows(bench))
            rows.extend(peak_rows(bench))
            sessions = args.sessions if not args.quick else min(args.sessions, 100)
            rows += await budget.run(f"{sessions:,} idle sessions", lambda: idle_rows(bench, sessions))
            # Its own two gateways (history on, off), ABBA: what recording every call costs a call.
            rows += await budget.run("history on vs off", lambda: history_rows(home / "history-ab", scale=bench.scale))
        finally:
            for sampler in samplers:
                sampler.cancel()
            await direct.close()
    finally:
        for target in targets or []:
            await target.process.stop()
        await gateway.stop()
    contenders: list[Contender] = [switchboard_contender(make, key)]
    contenders += [peer_contender(m, home / "fresh") for m in bench.modes if m.name not in unavailable]
    contenders = [c for c in contenders if c.column not in unavailable]
    repeats = 1 if args.quick else 3
    title = "start to first served call, RSS at rest"
    starts = await budget.run(title, lambda: startup_rows(bench, contenders, repeats))
    rows[0:0] = starts
    rows += await budget.run("a 50 MiB result", lambda: big_rows(bench, contenders[0]))
    return rows


async def _one(row: Awaitable[Row]) -> list[Row]:
    return [await row]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fifth of the calls, 100 idle sessions, 1 fresh start")
    parser.add_argument("--no-peers", action="store_true", help="Switchboard and direct stdio only; installs nothing")
    parser.add_argument("--patch", default="", help="run the gateway with bench.patched changes, e.g. gc")
    parser.add_argument("--sessions", type=int, default=1000, help="idle sessions to open and hold (default 1000)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes (default bench/results)")
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop  # the load generator's own loop: cheaper, so it measures the gateway, not itself

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    started = time.perf_counter()
    unavailable: dict[str, str] = {}
    if not args.no_peers:
        reasons = install(progress)
        unavailable.update({name: reason for name, reason in reasons.items() if reason})
    meta = {**machine(), "patches": args.patch, "quick": args.quick}
    meta["peers"] = {} if args.no_peers else dict(VERSIONS)
    meta["install_s"] = round(time.perf_counter() - started, 1)
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as home:
        rows = asyncio.run(run(args, Path(home), unavailable))
    meta["duration_s"] = round(time.perf_counter() - started, 1)
    meta["unavailable"] = unavailable
    table = markdown(rows, meta)
    path = write_json(args.out, rows, meta, table)
    print(table)
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    print(f"\n{meta['duration_s']} s ({meta['install_s']} s of it installing or checking peers) · JSON: {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
