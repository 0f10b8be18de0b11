"""`switchboard serve`: the headless gateway in the foreground (also what `switchboard` runs with no display)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from app import __version__, paths


def add_parsers(sub: Any, config_arg: Any) -> None:
    serve = sub.add_parser("serve", help="run the gateway in the foreground, without the tray")
    config_arg(serve)
    serve.add_argument("--host", help="address to bind (default: gateway.host in the config)")
    serve.add_argument("--port", type=int, help="port to bind (default: gateway.port in the config; 0 picks one)")
    serve.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    serve.add_argument(
        "--log-format", choices=("text", "json"), help="json: one object per line, on stderr and in the log file "
        "(default: gateway.log_format in the config, else text)",
    )  # fmt: skip
    serve.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    return serve(args.config, host=args.host, port=args.port, verbose=args.verbose, log_format=args.log_format)


def serve(
    config: Path | None,
    *,
    host: str | None = None,
    port: int | None = None,
    verbose: bool = False,
    log_format: str | None = None,
) -> int:
    from app import logs
    from app.config import ConfigError
    from app.gateway import GatewayError
    from app.launch import build_services
    from app.secrets import KeyStoreError

    log_path = logs.setup(paths.log_dir(), verbose=verbose, fmt=log_format or "text")
    try:
        services = build_services(config, host=host, port=port)
        key_location = services.main_key.location()  # keyring I/O: before the loop, not on it
    except (ConfigError, GatewayError, KeyStoreError) as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    configured = services.config.config.gateway.log_format
    if log_format is None and configured != "text":  # the config asks for it: from here on
        logs.setup(paths.log_dir(), verbose=verbose, fmt=configured)
    note = _noter(json_lines=(log_format or configured) == "json")
    gateway = services.gateway
    if services.history_error:
        note(f"Warning: {services.history_error}; calls are not recorded this run.")

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
            note(f"switchboard: {exc}")
            return 2
        say = _printer()
        say(f"Switchboard {__version__} is serving at {gateway.url}")
        say(f"  legacy SSE:  {gateway.base_url}/sse")
        say(f"  config:      {gateway.config_path}")
        say(f"  log:         {log_path}")
        if services.history is not None:
            say(f"  history:     {services.history.path}; `switchboard history` shows it")
        say(f"  metrics:     {gateway.base_url}/metrics · API: {gateway.base_url}/api/v1/calls")
        say(f"  API key:     {key_location}; `switchboard show-key` prints it")
        say("               send it as 'Authorization: Bearer KEY', 'X-API-Key: KEY' or '?api_key=KEY'")
        settings = gateway.applied.gateway
        if settings.allow_non_loopback:
            hosts = ", ".join(["localhost", "127.0.0.1", "[::1]", *settings.accepted_hosts()])
            note(
                f"Warning: listening on {gateway.host}, reachable from other machines. Requests are accepted "
                f"when addressed to: {hosts} (add more in gateway.allowed_hosts)."
            )
        say("Press Ctrl-C to stop.")
        try:
            await stop.wait()
        finally:
            note("Stopping: closing client sessions and stopping servers...")
            await gateway.stop()
        return 0

    try:
        with asyncio.Runner(loop_factory=_fast_loop()) as runner:
            return runner.run(run())
    except KeyboardInterrupt:
        return 0
    finally:
        services.close()


def _noter(*, json_lines: bool) -> Any:
    """Sentences for stderr: printed, or as log records when stderr carries JSON lines (one format per stream)."""

    def note(text: str) -> None:
        if json_lines:
            level = logging.WARNING if text.startswith(("Warning", "switchboard:")) else logging.INFO
            logging.getLogger("app.cli.serve").log(level, "%s", text)
        else:
            print(text, file=sys.stderr, flush=True)

    return note


def _printer() -> Any:
    def say(text: str) -> None:
        print(text, flush=True)

    return say


def _fast_loop() -> Any:
    """uvloop where it exists (it comes with uvicorn[standard], not on Windows): 5-10 % less CPU per call."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
