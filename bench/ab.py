"""Before/after: several gateway variants and the direct baseline, measured side by side in one run.

    python -m bench.ab "" gc [--era modern] [--sse] [--rounds 4]

Each variant is a gateway process run with those `bench.patched` changes ("" is the app as it is).
Every scenario rotates through all variants and the direct child round by round, so drift in the
machine's speed falls on all of them alike; compare the ratio and CPU columns.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
from pathlib import Path

from bench.gateway import CHILD, CHILD_ARGV, ROOT, GatewayProcess, show_key, write_config
from bench.load import Work, close_all, drive, open_clients
from bench.report import ms, ratio, times
from bench.scenarios import WARMUP_CALLS, Side, interleaved
from bench.sessions import Session, StdioSession
from bench.targets import cpu_meter, switchboard_target

SCENARIOS = [("echo c=1 x 300", 1, 300, 0), ("echo c=8 x 100", 8, 100, 0), ("256 KiB c=1 x 50", 1, 50, 256)]


async def run(args: argparse.Namespace, root: Path) -> str:
    gateways: list[tuple[str, GatewayProcess, str | None]] = []
    direct = await StdioSession(CHILD_ARGV, cwd=str(ROOT)).open()
    assert direct.process is not None
    lines = [
        "| scenario | variant | p50 ms | calls/s | CPU µs/call | p50 ÷ direct | calls/s ÷ direct | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    try:
        for index, patches in enumerate(args.variants):
            home = root / f"v{index}"
            config = write_config(home)
            gateway = GatewayProcess(home, config, patches)
            await gateway.start()
            key = await asyncio.to_thread(show_key, config, home)
            _, warm = await switchboard_target(gateway, key).first_call()
            await warm.close()
            gateways.append((patches or "as is", gateway, key))
        transport = "sse" if args.sse else "streamable-http"
        for title, c, n, kib in SCENARIOS:
            print(f"· {title}", file=sys.stderr, flush=True)
            tool = "blob" if kib else "echo"
            sides = [Side("direct", [direct] * c, Work(tool, kib), n, cpu_meter(direct.process.pid))]
            opened: list[list[Session]] = []
            for name, gateway, key in gateways:
                url = gateway.base_url + "/sse" if args.sse else gateway.url
                clients = await open_clients(url, c, transport=transport, era=args.era, key=key)
                opened.append(clients)
                assert gateway.process is not None
                sides.append(Side(name, clients, Work(f"{CHILD}__{tool}", kib), n, cpu_meter(gateway.process.pid)))
            try:
                for side in sides:
                    await drive(side.sessions, WARMUP_CALLS, side.work, first=-WARMUP_CALLS)
                await interleaved(sides, args.rounds)
            finally:
                for clients in opened:
                    await close_all(clients)
            base = sides[0].stats
            names = ["direct stdio (child CPU)", *(name for name, _, _ in gateways)]
            for name, stats in zip(names, (side.stats for side in sides), strict=True):
                p50, rate = stats.percentile(0.5), stats.rate
                lines.append(
                    f"| {title} | {name} | {ms(p50)} | {rate or 0:,.0f} | {stats.cpu_per_call or 0:,.0f} |"
                    f" {times(ratio(p50, base.percentile(0.5)))} | {times(ratio(rate, base.rate))} |"
                    f" {stats.errors}/{stats.calls} |"
                )
    finally:
        await direct.close()
        for _, gateway, _ in gateways:
            await gateway.stop()
    era = "legacy SSE" if args.sse else f"Streamable HTTP, {args.era} era"
    return f"{era}; {args.rounds} rotating rounds per scenario\n\n" + "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", help='bench.patched names per variant, comma-separated; "" = as is')
    parser.add_argument("--era", choices=["handshake", "modern"], default="handshake")
    parser.add_argument("--sse", action="store_true", help="legacy SSE instead of Streamable HTTP")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    with tempfile.TemporaryDirectory(prefix="switchboard-ab-") as root:
        print(asyncio.run(run(args, Path(root))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
