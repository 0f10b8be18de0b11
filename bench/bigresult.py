"""One legitimate 50 MiB tool result: the gateway's peak RSS growth per byte of result, against direct stdio.

The gateway (a fresh `switchboard serve`) relays the echo child's `blob(kib=51200)` a few times at
c=1; its peak is the kernel's VmHWM, reset to the RSS at rest just before the first large call.
The direct side is a minimal stdio client in its own process (this module with --reader): it reads
each answer as one line and parses it, as any client must, and reports its own peak the same way.

    python -m bench.bigresult --reader [KIB] [CALLS]     # the direct side alone; prints JSON
    python -m bench.bigresult --peers [KIB]              # one such call through each peer (slow: ~1 min each)
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import psutil

from bench.blob import LINE
from bench.gateway import CHILD_ARGV, ROOT, RSS
from bench.load import Work, drive
from bench.report import MB, Row, latency_cell, mb, ratio, times
from bench.scenarios import Bench, describe
from bench.targets import Contender

BIG_KIB = 50 * 1024
BIG_CALLS = 3
READER_TIMEOUT = 120.0


def _high_water(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise OSError("no VmHWM")


def _reset_high_water(pid: int | str = "self") -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def reader(kib: int, calls: int) -> dict[str, Any]:
    """The direct side: spawn the child, call blob `calls` times over its stdio, report RSS at rest and peak."""
    child = subprocess.Popen(CHILD_ARGV, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    stdin, stdout = child.stdin, child.stdout
    assert stdin is not None and stdout is not None
    ids = iter(range(1, 1_000_000))

    def request(method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id = next(ids)
        stdin.write(orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}))
        stdin.write(b"\n")
        stdin.flush()
        while True:
            message = orjson.loads(stdout.readline())
            if message.get("id") == request_id:
                return dict(message["result"])

    try:
        info = {"name": "bench-reader", "version": "1"}
        request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": info})
        stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        request("tools/call", {"name": "echo", "arguments": {"text": "first"}})
        gc.collect()
        me = psutil.Process()
        rest = me.memory_info().rss
        reset = _reset_high_water()
        ok = 0
        for _ in range(calls):
            result = request("tools/call", {"name": "blob", "arguments": {"kib": kib}})
            text = result["content"][0]["text"]
            ok += len(text) == kib * 1024 and text.startswith(LINE) and text.endswith(LINE)
            del result, text
        peak = _high_water()
    finally:
        stdin.close()
        child.wait(10)
    return {"rest": rest, "peak": max(peak, rest), "reset": reset, "ok": ok, "calls": calls}


async def direct_side(kib: int, calls: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.bigresult", "--reader", str(kib), str(calls)]
    process = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(process.communicate(), READER_TIMEOUT)
    if process.returncode != 0:
        raise RuntimeError(f"the stdio reader exited with {process.returncode}")
    return dict(orjson.loads(out))


async def big_rows(bench: Bench, switchboard: Contender, kib: int = BIG_KIB, calls: int = BIG_CALLS) -> list[Row]:
    size = kib * 1024
    title = f"peak RSS growth per byte while relaying one {kib // 1024} MiB tool result (c=1 x {calls})"
    direct = await direct_side(kib, calls)
    direct_per_byte = (direct["peak"] - direct["rest"]) / size
    target = await switchboard.launch()
    sampler: asyncio.Task[None] | None = None
    try:
        _, session = await target.first_call()
        await asyncio.sleep(0.5)
        rest = target.process.rss().own
        reset = target.process.reset_high_water()
        target.process.peak = RSS(rest, target.process.peak.with_children)
        sampler = asyncio.create_task(target.process.sample(0.01))  # the fallback where VmHWM cannot be reset
        stats = await drive([session], calls, Work(target.tool("blob"), kib))
        target.process.rss()
        peak = target.process.high_water() if reset else target.process.peak.own
        await session.close()
    except Exception as exc:
        return [Row(title, switchboard=f"failed: {describe(exc)}", errors="failed")]
    finally:
        if sampler is not None:
            sampler.cancel()
        await target.process.stop()
    per_byte = (peak - rest) / size
    how = "VmHWM" if reset else "sampled every 10 ms"
    return [
        Row(
            title,
            direct=f"a stdio client: +{mb(direct['peak'] - direct['rest'])} peak over {mb(direct['rest'])} at rest:"
            f" {direct_per_byte:.2f} bytes per byte · {direct['ok']}/{direct['calls']} results correct",
            switchboard=f"+{mb(peak - rest)} peak over {mb(rest)} at rest ({how}): {per_byte:.2f} bytes per byte · "
            + latency_cell(stats),
            peers={program: "not run: the direct stdio reader is the baseline here" for program in bench.columns},
            vs_direct=f"peak per byte {times(ratio(per_byte, direct_per_byte))}",
            errors=f"{stats.errors}/{stats.calls}" + (f": {stats.first_error[:100]}" if stats.first_error else ""),
            data={
                "kib": kib,
                "calls": calls,
                "switchboard": {"rest": rest, "peak": peak, "per_byte": per_byte, "vmhwm": reset},
                "direct": {**direct, "per_byte": direct_per_byte},
                "gateway_stats": stats.summary(),
                "peak_mb": (peak - rest) / MB,
            },
        )
    ]


async def through_peers(kib: int) -> None:
    """One large call through mcp-proxy and supergateway's SSE mode, peak per byte as above; not in `make bench`.

    Both read the child by splitting the whole pending buffer on every chunk, so one 50 MiB result
    takes them most of a minute: too long for the bench's 5-minute run, so it is a command of its own.
    """
    import tempfile

    from bench.peers import PEER_MODES, PeerProcess, install
    from bench.targets import peer_target

    if any(install(print).values()):
        return
    home = Path(tempfile.mkdtemp(prefix="switchboard-bigresult-"))
    for mode in [m for m in PEER_MODES if m.name in ("mcp-proxy stateful", "supergateway SSE")]:
        peer = PeerProcess(mode, home)
        await peer.start()
        try:
            target = peer_target(peer)
            _, session = await target.first_call()
            await asyncio.sleep(0.5)
            rest = peer.rss().own
            reset = peer.reset_high_water()
            stats = await asyncio.wait_for(drive([session], 1, Work("blob", kib)), READER_TIMEOUT)
            peak = peer.high_water() if reset else peer.rss().own
            per_byte = (peak - rest) / (kib * 1024)
            print(f"{mode.name}: +{mb(peak - rest)} over {mb(rest)} at rest: {per_byte:.2f} bytes per byte · "
                  f"{latency_cell(stats)} · {stats.errors}/{stats.calls} errors")
            await session.close()
        finally:
            await peer.stop()


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--peers":
        asyncio.run(through_peers(int(argv[1]) if len(argv) > 1 else BIG_KIB))
        return 0
    if not argv or argv[0] != "--reader":
        print(__doc__)
        return 2
    kib = int(argv[1]) if len(argv) > 1 else BIG_KIB
    calls = int(argv[2]) if len(argv) > 2 else BIG_CALLS
    print(orjson.dumps(reader(kib, calls)).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
