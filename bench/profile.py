"""Profile the gateway process under load with py-spy (not a project dependency: `pip install py-spy`).

    python -m bench.profile [--patch gc] [-c 1] [--seconds 15] [--kib 0] [--sse] [--era modern]

Starts a gateway like `make bench`, samples it while the load generator drives calls, and prints
where the time goes: the top frames by inclusive and by own samples. The collapsed stacks are kept
under bench/results/ for a flame graph (e.g. speedscope, or inferno-flamegraph).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.gateway import CHILD, ROOT, GatewayProcess, show_key, write_config
from bench.load import Stats, Work, close_all, drive, format_stats, open_clients
from bench.targets import switchboard_target

RESULTS = Path(__file__).resolve().parent / "results"


# Own samples are charged to the layer of the innermost frame: the first matching pattern wins.
LAYERS = [
    ("pydantic (validation, serialization)", ("pydantic", "mcp_types/")),
    ("Python's JSON (json module)", ("json/",)),
    ("uvicorn + httptools (HTTP in)", ("uvicorn/", "httptools")),
    ("sse_starlette (SSE framing)", ("sse_starlette/",)),
    ("starlette (requests, responses)", ("starlette/",)),
    ("SDK HTTP transports (Streamable HTTP, SSE)", ("mcp/server/streamable_http", "mcp/server/sse", "_streamable")),
    ("SDK server runner and dispatch", ("mcp/server/",)),
    ("SDK JSON-RPC dispatcher and stdio client (stdio out)", ("mcp/shared/", "mcp/client/")),
    ("Switchboard relay (app/gateway)", tuple(f"({p.name}" for p in (ROOT / "app" / "gateway").glob("*.py"))),
    ("opentelemetry", ("opentelemetry", "trace/__init__")),
    ("anyio (tasks, streams, cancel scopes)", ("anyio/",)),
    ("asyncio event loop and sockets", ("asyncio/", "selectors")),
]


def function_of(frame: str) -> str:
    """`name (path:line)` -> `name (path)`: one entry per function, whatever line was running."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else frame


def layer_of(frame: str) -> str:
    for layer, patterns in LAYERS:
        if any(pattern in frame for pattern in patterns):
            return layer
    return "other"


def summarize(collapsed: Path, top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    layers: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [function_of(frame) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        layers[layer_of(frames[-1])] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} samples", "", "-- own samples by layer --"]
    lines.extend(f"{100 * n / total:5.1f}%  {layer}" for layer, n in layers.most_common())
    for title, counter in (("inclusive", inclusive), ("own", own)):
        lines.append(f"\n-- top {top} functions by {title} samples --")
        lines.extend(f"{100 * n / total:5.1f}%  {frame}" for frame, n in counter.most_common(top))
    return "\n".join(lines)


async def profile(args: argparse.Namespace, home: Path, out: Path) -> Stats:
    config = write_config(home)
    gateway = GatewayProcess(home, config, args.patch)
    await gateway.start()
    try:
        key = await asyncio.to_thread(show_key, config, home)
        _, warm = await switchboard_target(gateway, key).first_call()
        await warm.close()
        transport = "sse" if args.sse else "streamable-http"
        url = gateway.base_url + "/sse" if args.sse else gateway.url
        clients = await open_clients(url, args.c, transport=transport, era=args.era, key=key)
        work = Work(f"{CHILD}__{'blob' if args.kib else 'echo'}", args.kib)
        await drive(clients, 20, work, first=-20)
        assert gateway.process is not None
        spy = subprocess.Popen(
            ["py-spy", "record", "--pid", str(gateway.process.pid), "--rate", str(args.rate), "--format", "raw",
             "--output", str(out), "--duration", str(args.seconds), "--nonblocking", *(["--gil"] if args.gil else [])],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        await asyncio.sleep(1.0)  # py-spy attaches
        stats = await drive(clients, 1_000_000, work, deadline=time.perf_counter() + args.seconds - 2)
        await close_all(clients)
        _, err = await asyncio.to_thread(spy.communicate)
        if spy.returncode:
            raise RuntimeError(f"py-spy failed: {err.decode(errors='replace').strip()}")
        return stats
    finally:
        await gateway.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--patch", default="", help="bench.patched changes to apply to the gateway")
    parser.add_argument("-c", type=int, default=1, help="concurrent clients (default 1)")
    parser.add_argument("--seconds", type=int, default=15, help="how long to sample (default 15)")
    parser.add_argument("--kib", type=int, default=0, help="call blob for this many KiB instead of echo")
    parser.add_argument("--sse", action="store_true", help="legacy SSE instead of Streamable HTTP")
    parser.add_argument("--era", choices=["handshake", "modern"], default="handshake")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second (default 250)")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--gil", action="store_true", help="sample only while the GIL is held (Python CPU)")
    args = parser.parse_args()
    if shutil.which("py-spy") is None:
        print("py-spy is not installed: pip install py-spy", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"profile-c{args.c}{'-sse' if args.sse else ''}-{args.era}-{args.kib}kib.txt"
    with tempfile.TemporaryDirectory(prefix="switchboard-profile-") as home:
        stats = asyncio.run(profile(args, Path(home), out))
    print(format_stats(stats))
    print(summarize(out, args.top))
    print(f"\ncollapsed stacks: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
