"""`make bench`: the gateway against the direct-stdio limit, as ratios; one markdown table, the same as JSON.

    python -m bench [--quick] [--patch gc] [--sessions 1000] [--out bench/results]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import sys
import tempfile
import time
from pathlib import Path

from bench.gateway import CHILD_ARGV, ROOT, GatewayProcess, show_key, write_config
from bench.report import Row, machine, markdown, write_json
from bench.scenarios import (
    LOAD_SCENARIOS,
    SCENARIO_TIMEOUT,
    Bench,
    failed_row,
    first_call,
    idle_sessions,
    peak_rows,
    run_load,
    startup_rows,
)
from bench.sessions import StdioSession

RESULTS = ROOT / "bench" / "results"


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def run(args: argparse.Namespace, home: Path) -> list[Row]:
    config = write_config(home)
    make = functools.partial(GatewayProcess, home, config, args.patch)
    rows: list[Row] = []
    gateway = make()
    await gateway.start()
    try:
        key = await asyncio.to_thread(show_key, config, home)
        progress(f"gateway at {gateway.url} ({'API key from show-key' if key else 'no API key'})")
        _, warm = await first_call(gateway.url, key, gateway.started_at)
        await warm.close()
        direct = await StdioSession(CHILD_ARGV, cwd=str(ROOT)).open()
        bench = Bench(gateway, key, direct, scale=0.2 if args.quick else 1.0)
        sampler = asyncio.create_task(gateway.sample())
        try:
            for scenario in LOAD_SCENARIOS:
                progress(f"· {scenario.title}")
                try:
                    rows.append(await asyncio.wait_for(run_load(bench, scenario), SCENARIO_TIMEOUT))
                except Exception as exc:
                    rows.append(failed_row(scenario.title, exc))
            rows.extend(peak_rows(bench))
            sessions = args.sessions if not args.quick else min(args.sessions, 100)
            progress(f"· {sessions:,} idle sessions")
            try:
                rows.extend(await asyncio.wait_for(idle_sessions(bench, sessions), SCENARIO_TIMEOUT))
            except Exception as exc:
                rows.append(failed_row(f"{sessions:,} idle sessions", exc))
        finally:
            sampler.cancel()
            await direct.close()
    finally:
        await gateway.stop()
    progress("· start to first served call, RSS at rest")
    try:
        rows[0:0] = await asyncio.wait_for(startup_rows(make, key, 1 if args.quick else 3), SCENARIO_TIMEOUT)
    except Exception as exc:
        rows.insert(0, failed_row("start to first served call", exc))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fifth of the calls and 100 idle sessions")
    parser.add_argument("--patch", default="", help="run the gateway with bench.patched changes, e.g. gc")
    parser.add_argument("--sessions", type=int, default=1000, help="idle sessions to open and hold (default 1000)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes (default bench/results)")
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop  # the load generator's own loop: cheaper, so it measures the gateway, not itself

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    meta = {**machine(), "patches": args.patch, "quick": args.quick}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as home:
        rows = asyncio.run(run(args, Path(home)))
    meta["duration_s"] = round(time.perf_counter() - started, 1)
    table = markdown(rows, meta)
    path = write_json(args.out, rows, meta, table)
    print(table)
    print(f"\n{meta['duration_s']} s · JSON: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
