"""What recording every call costs a call: the gateway with history on and with it off, in the same run.

    python -m bench.history_ab [--rounds 4] [--quick]

Two `switchboard serve` processes, each with its own SWITCHBOARD_HOME (so neither shares the other's
history file): one as users run it (history on, the default), one with `gateway.history: false`.
echo c=1 and c=8 are run on both in rotating rounds (ABBA: on, off, off, on, ...), so a drift in
the machine's speed falls on both alike. The goal (the observability issue): p50 and calls/s with
history on within 5 % of history off. The "on" side's history file is counted afterwards, so the
figure is known to include the writes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
import tempfile
from pathlib import Path

from bench.gateway import CHILD, GatewayProcess, show_key, write_config
from bench.load import Work, close_all, drive, open_clients
from bench.report import Row, latency_cell, ratio, times
from bench.scenarios import WARMUP_CALLS, Side, interleaved
from bench.targets import cpu_meter, switchboard_target

SCENARIOS = [("echo c=1", 1, 300), ("echo c=8", 8, 100)]
BOUND = 0.05  # within 5 %


async def _gateway(home: Path, **settings: object) -> tuple[GatewayProcess, str | None]:
    config = write_config(home, **settings)
    gateway = GatewayProcess(home, config)
    await gateway.start()
    key = await asyncio.to_thread(show_key, config, home)
    _, warm = await switchboard_target(gateway, key).first_call()
    await warm.close()
    return gateway, key


def stored_calls(home: Path) -> int:
    path = home / "state" / "history.sqlite3"
    if not path.exists():
        return 0
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT count(*) FROM calls").fetchone()[0])


async def history_rows(root: Path, rounds: int = 4, scale: float = 1.0) -> list[Row]:
    homes = {"history on": root / "history-on", "history off": root / "history-off"}
    started: dict[str, tuple[GatewayProcess, str | None]] = {}
    rows: list[Row] = []
    try:
        started["history on"] = await _gateway(homes["history on"])
        started["history off"] = await _gateway(homes["history off"], history=False)
        for title, c, n in SCENARIOS:
            count = max(rounds, int(n * scale))
            sides: list[Side] = []
            try:
                for name, (gateway, key) in started.items():
                    clients = await open_clients(gateway.url, c, transport="streamable-http", era="handshake", key=key)
                    assert gateway.process is not None
                    sides.append(Side(name, clients, Work(f"{CHILD}__echo"), count, cpu_meter(gateway.process.pid)))
                for side in sides:
                    await drive(side.sessions, WARMUP_CALLS, side.work, first=-WARMUP_CALLS)
                await interleaved(sides, rounds)
            finally:
                for side in sides:
                    await close_all(side.sessions)
            rows.append(_row(title, c, count, rounds, sides[0], sides[1]))
    finally:
        for gateway, _ in started.values():
            await gateway.stop()
    recorded = stored_calls(homes["history on"])
    for row in rows:
        row.data["history_on_calls_stored"] = recorded
        row.data["history_off_file"] = (homes["history off"] / "state" / "history.sqlite3").exists()
    if rows:
        rows[-1].errors += f" · {recorded:,} calls in the 'on' side's history file"
    return rows


def _row(title: str, c: int, n: int, rounds: int, on: Side, off: Side) -> Row:
    p50 = ratio(on.stats.percentile(0.5), off.stats.percentile(0.5))
    rate = ratio(on.stats.rate, off.stats.rate)
    ok = not on.stats.errors and not off.stats.errors
    goals: list[tuple[str, bool | None]] = [
        (f"p50 within 5 % ({times(p50)})", ok and p50 is not None and p50 <= 1 + BOUND),
        (f"calls/s within 5 % ({times(rate)})", ok and rate is not None and rate >= 1 - BOUND),
    ]
    return Row(
        f"history on vs off · {title} x {n} · Streamable HTTP 2025-11-25 ({rounds} rounds, ABBA)",
        direct=f"history off: {latency_cell(off.stats)}",
        switchboard=f"history on: {latency_cell(on.stats)}",
        vs_direct=f"on ÷ off: p50 {times(p50)}, calls/s {times(rate)}",
        errors=f"{on.stats.errors + off.stats.errors}/{on.stats.calls + off.stats.calls}",
        goals=goals,
        data={"c": c, "on": on.stats.summary(), "off": off.stats.summary(), "p50_on_off": p50, "rate_on_off": rate},
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.history_ab", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="a fifth of the calls")
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    with tempfile.TemporaryDirectory(prefix="switchboard-history-ab-") as root:
        rows = asyncio.run(history_rows(Path(root), args.rounds, 0.2 if args.quick else 1.0))
    print("| scenario | history off | history on | on ÷ off | errors | goals |\n|---|---|---|---|---|---|")
    for row in rows:
        goals = " · ".join(text + ("" if met is None else (" ✓" if met else " ✗")) for text, met in row.goals)
        print(f"| {row.scenario} | {row.direct} | {row.switchboard} | {row.vs_direct} | {row.errors} | {goals} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
