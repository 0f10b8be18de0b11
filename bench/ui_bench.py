"""The tray app under load: gateway tail latency with the panel open on a live Activity tab, against headless.

    .venv/bin/python -m bench.ui_bench [-c 8] [-n 200] [--rounds 2] [--with-qasync] [--tree PATH]

Both sides are real processes with the bench echo child: `switchboard serve` (headless), and this
module's `--host` mode, which runs the desktop app exactly as app.main does (QApplication and a
qasync loop on the main thread; DesktopApp runs the gateway on its own loop in its own thread)
with the control panel shown on the Activity tab (offscreen Qt). `--with-qasync` adds a third
side, the gateway alone on a qasync loop in the main thread (how the tray ran it before), so the
gain shows in the same run; `--tree PATH` adds the tray of another checkout (a worktree at an
older commit) the same way. Rounds rotate the sides, then reverse them (ABBA). Prints p50/p99 of
each and the ratios to headless (goal p99 <= 1.2x), the tray process's idle RSS with one child
(goal <= 150 MB) and its time from launch to serving.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.gateway import GatewayProcess, show_key, write_config
from bench.load import Stats, Work, close_all, drive, format_stats, open_clients


class TrayProcess(GatewayProcess):
    """The desktop app in its own process, panel open on Activity; same URL banner as `serve`."""

    variant = "panel"
    tree: Path | None = None  # another checkout of the app to host instead of this one (--tree)

    async def start(self) -> None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        os.environ["SB_UI_BENCH_VARIANT"] = self.variant  # read by the --host process (env copied at spawn)
        original = asyncio.create_subprocess_exec

        async def spawn(*argv: str, **kwargs):  # type: ignore[no-untyped-def]
            argv = (sys.executable, "-m", "bench.ui_bench", "--host", str(self.config))
            if self.tree is not None:
                kwargs["cwd"] = self.tree
                kwargs["env"] = {**kwargs["env"], "PYTHONPATH": str(self.tree)}
            return await original(*argv, **kwargs)

        asyncio.create_subprocess_exec = spawn  # type: ignore[assignment]
        try:
            await super().start()
        finally:
            asyncio.create_subprocess_exec = original  # type: ignore[assignment]


class QasyncProcess(TrayProcess):
    """The previous shape: the gateway on the qasync loop of the Qt main thread (no UI at all)."""

    variant = "qasync"


def tree_tray(tree: Path) -> type[TrayProcess]:
    """The tray of another checkout (e.g. `git worktree add /tmp/before HEAD~3`), for a before/after run."""
    return type("TreeTrayProcess", (TrayProcess,), {"tree": tree.resolve()})


def host(config: Path) -> int:
    """Run the desktop app as app.main does, with the panel on the Activity tab, and print the banner."""
    import qasync
    from PySide6.QtWidgets import QApplication

    from app.launch import build_services
    from app.ui.collector import GuiThreadCollector
    from app.ui.desktop import DesktopApp

    qt_app = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(qt_app)
    asyncio.set_event_loop(loop)
    services = build_services(config)
    # panel | hidden (tray only) | qasync (the gateway alone on the Qt thread's qasync loop, no UI)
    variant = os.environ.get("SB_UI_BENCH_VARIANT", "panel")
    if variant in ("qasync", "bare"):
        return loop.run_until_complete(_on_qasync(services.gateway))
    desktop = DesktopApp(services, tray_available=variant != "panel")
    # Held for the run, as app.main holds it: garbage with Qt objects in it is freed on the GUI thread.
    collector = GuiThreadCollector()  # noqa: F841

    async def main() -> int:
        desktop.panel.tabs.setCurrentIndex(2)  # Activity, live
        task = asyncio.ensure_future(desktop.run())
        while desktop.snapshot.state != "running":
            if task.done():
                return task.result()
            await asyncio.sleep(0.01)
        print(f"Switchboard (tray) is serving at {desktop.snapshot.url}", flush=True)
        return await task

    with loop:
        return loop.run_until_complete(main())


async def _on_qasync(gateway) -> int:  # type: ignore[no-untyped-def]
    """The gateway alone on the qasync loop (the tray's shape before the gateway got its own thread)."""
    await gateway.start()
    print(f"Switchboard (qasync, no UI) is serving at {gateway.url}", flush=True)
    await asyncio.Event().wait()
    return 0


async def until_child_serves(url: str, key: str | None, timeout: float = 30) -> None:
    """The gateway serves before its child is up; calls made before that are refused, not measured."""
    sessions = await open_clients(url, 1, transport="streamable-http", era="handshake", key=key)
    try:
        deadline = time.monotonic() + timeout
        while (await drive(sessions, 1, Work("echo__echo"))).errors:
            if time.monotonic() > deadline:
                raise RuntimeError("the echo child did not start")
            await asyncio.sleep(0.05)
    finally:
        await close_all(sessions)


async def measure(kind: type[GatewayProcess], home: Path, config: Path, key: str | None, c: int, n: int) -> Stats:
    proc = kind(home, config)
    await proc.start()
    try:
        await until_child_serves(proc.url, key)
        sessions = await open_clients(proc.url, c, transport="streamable-http", era="handshake", key=key)
        try:
            await drive(sessions, 20, Work("echo__echo"))  # warm up
            return await drive(sessions, n, Work("echo__echo"), first=1000)
        finally:
            await close_all(sessions)
    finally:
        await proc.stop()


async def tray_footprint(home: Path, config: Path, key: str | None) -> tuple[float, float]:
    """(launch to the first served call in ms, idle RSS in MB after that call and 3 s of rest)."""
    proc = TrayProcess(home, config)
    await proc.start()
    try:
        await until_child_serves(proc.url, key)
        launch_ms = (time.perf_counter() - proc.started_at) * 1000
        await asyncio.sleep(3)
        return launch_ms, proc.rss().own / 1e6
    finally:
        await proc.stop()


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="sb-ui-bench-") as tmp:
        home = Path(tmp)
        os.environ["SWITCHBOARD_HOME"] = str(home)
        config = write_config(home)
        key = show_key(config, home)
        kinds: dict[str, type[GatewayProcess]] = {"headless": GatewayProcess, "tray": TrayProcess}
        if args.with_qasync:
            kinds["qasync"] = QasyncProcess
        if args.tree:
            kinds["tree"] = tree_tray(args.tree)
        results = {name: Stats() for name in kinds}
        for r in range(args.rounds):
            order = list(kinds) if r % 2 == 0 else list(reversed(kinds))
            for name in order:
                stats = await measure(kinds[name], home, config, key, args.c, args.n)
                results[name].merge(stats)
                print(f"round {r + 1} {name:8}: {format_stats(stats)}", flush=True)
        launch_ms, rss_mb = await tray_footprint(home, config, key)
    head, tray = results["headless"], results["tray"]
    ratio = (tray.percentile(0.99) or 0) / (head.percentile(0.99) or 1)
    labels = {"headless": "headless", "tray": "tray, Activity live", "qasync": "gateway on qasync loop",
              "tree": "tray of --tree"}
    print()
    print(f"c={args.c}, {args.n} calls per client, {args.rounds} rounds (ABBA)")
    for name, stats in results.items():
        p50, p99 = stats.percentile(0.5) or 0, stats.percentile(0.99) or 0
        versus = "" if name == "headless" else (
            f"  ({p50 / (head.percentile(0.5) or 1):.2f}x, {p99 / (head.percentile(0.99) or 1):.2f}x headless)"
        )
        print(f"{labels[name]:23} p50 {p50:.2f} ms  p99 {p99:.2f} ms{versus}")
    print(f"p99 ratio tray/headless: {ratio:.2f}x (goal <= 1.2x) {'ok' if ratio <= 1.2 else 'MISSED'}")
    print(f"tray idle RSS with one child: {rss_mb:.1f} MB (goal <= 150 MB)")
    print(f"tray launch to first served call (child start included): {launch_ms:.0f} ms")
    return 0 if not any(stats.errors for stats in results.values()) else 1


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--host", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("-c", type=int, default=8)
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--with-qasync", action="store_true", help="also the gateway on a qasync loop (before)")
    parser.add_argument("--tree", type=Path, help="also the tray of another checkout, e.g. a worktree at the old HEAD")
    args = parser.parse_args()
    if args.host:
        return host(args.host)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
