"""Argument parsing and dispatch only; each verb calls into the packages that do the work."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

from app import __version__, paths


def has_display() -> bool:
    """Whether a desktop session can be reached. Probed, not just read from the environment: Qt aborts
    the process when DISPLAY names an X server that is gone (a stale ssh -X, a closed Xvfb)."""
    if sys.platform in ("darwin", "win32"):
        return True
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return True  # asked for a Qt platform that needs no display server (offscreen, vnc, eglfs, ...)
    wayland = os.environ.get("WAYLAND_DISPLAY")
    if wayland:
        runtime_dir = os.environ.get("XDG_RUNTIME_DIR", "")
        if os.path.exists(wayland if os.path.isabs(wayland) else os.path.join(runtime_dir, wayland)):
            return True
    display = os.environ.get("DISPLAY", "")
    return bool(display) and _x_server_answers(display)


_X_SOCKETS = "/tmp/.X11-unix"


def _x_server_answers(display: str) -> bool:
    import socket

    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    try:
        if host in ("", "unix"):
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(1)
                sock.connect(f"{_X_SOCKETS}/X{number}")
        else:
            with socket.create_connection((host, 6000 + int(number)), timeout=1):
                pass
    except OSError:
        return False
    return True


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=None, help=f"config file (default: {paths.default_config_path()})"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description="A local MCP gateway for all your AI clients.")
    parser.add_argument("--version", action="version", version=f"switchboard {__version__}")
    _config_arg(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the gateway in the foreground, without the tray")
    _config_arg(serve)
    serve.add_argument("--host", help="address to bind (default: gateway.host in the config)")
    serve.add_argument("--port", type=int, help="port to bind (default: gateway.port in the config; 0 picks one)")
    serve.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo-server", help="run the bundled demo MCP server on stdio (used as a child)")
    demo.set_defaults(func=cmd_demo_server)

    try:
        from app.cli import keys as keys_cli
    except ImportError:  # pragma: no cover - only while the key commands are not built
        keys_cli = None  # type: ignore[assignment]
    if keys_cli is not None:
        keys_cli.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "func", None) is None:
        if has_display():
            from app.main import run_tray  # the only path into Qt

            return run_tray(args.config)
        print("No display found: running the gateway headless (switchboard serve).", file=sys.stderr)
        args = build_parser().parse_args(["serve", *(["--config", str(args.config)] if args.config else [])])
    return int(args.func(args))


def cmd_demo_server(args: argparse.Namespace) -> int:
    from app.demo_server import main as demo_main

    return demo_main()


def cmd_serve(args: argparse.Namespace) -> int:
    from app import logs
    from app.config import ConfigError
    from app.gateway.runtime import GatewayError
    from app.launch import build_gateway
    from app.secrets import KeyStoreError

    log_path = logs.setup(paths.log_dir(), verbose=args.verbose)
    try:
        gateway = build_gateway(args.config, host=args.host, port=args.port)
    except (ConfigError, GatewayError, KeyStoreError) as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # On Windows there are no loop signal handlers: Ctrl-C arrives as KeyboardInterrupt instead.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await gateway.start()
        except GatewayError as exc:
            print(f"switchboard: {exc}", file=sys.stderr)
            return 2
        print(f"Switchboard {__version__} is serving at {gateway.url}", flush=True)
        print(f"  legacy SSE:  {gateway.base_url}/sse", flush=True)
        print(f"  config:      {gateway.config_path}", flush=True)
        print(f"  log:         {log_path}", flush=True)
        print(f"  API key:     {gateway.main_key.location()}; `switchboard show-key` prints it", flush=True)
        print("               send it as 'Authorization: Bearer KEY', 'X-API-Key: KEY' or '?api_key=KEY'", flush=True)
        if gateway.host not in ("127.0.0.1", "localhost", "::1"):
            print(f"Warning: listening on {gateway.host}, reachable from other machines.", file=sys.stderr, flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        try:
            await stop.wait()
        finally:
            print("Stopping: closing client sessions and stopping servers...", file=sys.stderr, flush=True)
            await gateway.stop()
        return 0

    try:
        with asyncio.Runner(loop_factory=_fast_loop()) as runner:
            return runner.run(run())
    except KeyboardInterrupt:
        return 0


def _fast_loop() -> Any:
    """uvloop where it exists (it comes with uvicorn[standard], not on Windows): 5-10 % less CPU per call.
    The tray keeps qasync's loop; the gateway core runs on either."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
