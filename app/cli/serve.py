"""`switchboard serve`: the headless gateway in the foreground (also what `switchboard` runs with no display)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import __version__, paths

if TYPE_CHECKING:
    from app.config import ConfigStore
    from app.daemon.instance import InstanceLock
    from app.prestart import Prestarted

log = logging.getLogger(__name__)


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
    # `start` runs `serve --background` detached: log lines go to the log file only, not to its output file.
    serve.add_argument("--background", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    return serve(
        args.config, host=args.host, port=args.port, verbose=args.verbose, background=args.background,
        log_format=args.log_format,
    )


def serve(
    config: Path | None,
    *,
    host: str | None = None,
    port: int | None = None,
    verbose: bool = False,
    background: bool = False,
    log_format: str | None = None,
) -> int:
    """Exit codes: 0 stopped (or another instance already runs: it is reported), 2 could not start."""
    from app import logs
    from app.daemon.hosting import already_running, claim
    from app.daemon.instance import InstanceLockError, RuntimeInfo

    log_path = logs.setup(paths.log_dir(), verbose=verbose, console=not background, fmt=log_format or "text")
    # One instance per user, whatever starts it: taken before anything is built, so a second serve (or
    # one started at login while the tray runs) neither binds nor starts children. It exits 0, so
    # systemd's Restart=on-failure and launchd's KeepAlive do not start it over and over.
    try:
        claimed = claim(paths.state_dir(), mode="headless", config=(config or paths.default_config_path()).absolute())
    except InstanceLockError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    if isinstance(claimed, RuntimeInfo):
        print(already_running(claimed), file=sys.stderr)
        return 0
    try:
        return _serve_holding(
            claimed, config, host=host, port=port, log_path=log_path, background=background, log_format=log_format,
            verbose=verbose,
        )
    finally:
        claimed.release()


def _serve_holding(
    lock: InstanceLock,
    config: Path | None,
    *,
    host: str | None,
    port: int | None,
    log_path: Path,
    background: bool,
    log_format: str | None,
    verbose: bool,
) -> int:
    from app.config import ConfigError
    from app.launch import config_store
    from app.prestart import prestart, release

    store = config_store(config, host=host, port=port)
    try:
        # The stdio servers start now, and import while the gateway does (app/prestart.py).
        prestarted = prestart(store.open().config)
    except ConfigError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    try:
        return _serve_with(store, prestarted, lock, log_path=log_path, background=background,
                           log_format=log_format, verbose=verbose)  # fmt: skip
    finally:
        release(prestarted)  # whatever the gateway did not adopt


def _serve_with(
    store: ConfigStore,
    prestarted: dict[str, Prestarted],
    lock: InstanceLock,
    *,
    log_path: Path,
    background: bool,
    log_format: str | None,
    verbose: bool,
) -> int:
    from app.config import ConfigError
    from app.daemon.admin import PREFIX, admin_routes
    from app.daemon.hosting import publish
    from app.daemon.instance import InstanceLockError
    from app.gateway import GatewayError
    from app.launch import build_services
    from app.secrets import KeyStoreError

    try:
        services = build_services(store=store, prestarted=prestarted)
        key_location = services.main_key.location()  # keyring I/O: before the loop, not on it
    except (ConfigError, GatewayError, KeyStoreError) as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    gateway = services.gateway
    from app import logs

    configured = services.config.config.gateway.log_format
    if log_format is None and configured != "text":  # the config asks for it: from here on
        logs.setup(paths.log_dir(), verbose=verbose, console=not background, fmt=configured)
    note = _noter(json_lines=(log_format or configured) == "json")
    if services.history_error:
        note(f"Warning: {services.history_error}; calls are not recorded this run.")

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # On Windows there are no loop signal handlers: Ctrl-C arrives as KeyboardInterrupt instead.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        # `switchboard stop` asks here (no signals on Windows); it ends the same way as Ctrl-C.
        def request_stop() -> None:
            loop.call_soon_threadsafe(stop.set)

        gateway.routes[PREFIX] = admin_routes(request_stop)
        try:
            await gateway.start()
        except GatewayError as exc:
            print(f"switchboard: {exc}", file=sys.stderr)
            return 2
        try:
            await asyncio.to_thread(publish, lock, gateway.base_url, gateway.port)  # `start` waits for this
        except InstanceLockError as exc:
            print(f"switchboard: {exc}", file=sys.stderr)
            await gateway.stop()
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
        say("Running in the background: `switchboard stop` stops it." if background else "Press Ctrl-C to stop.")
        try:
            await stop.wait()
        finally:
            note("Stopping: closing client sessions and stopping servers...")
            await gateway.stop()
            log.info("Switchboard stopped")
        return 0

    try:
        with asyncio.Runner(loop_factory=_fast_loop()) as runner:
            return runner.run(run())
    except KeyboardInterrupt:
        return 0
    finally:
        services.close()


def _printer() -> Any:
    def say(text: str) -> None:
        print(text, flush=True)

    return say


def _noter(*, json_lines: bool) -> Any:
    """Sentences for stderr: printed, or as log records when stderr carries JSON lines (one format per stream)."""

    def note(text: str) -> None:
        if json_lines:
            level = logging.WARNING if text.startswith(("Warning", "switchboard:")) else logging.INFO
            logging.getLogger("app.cli.serve").log(level, "%s", text)
        else:
            print(text, file=sys.stderr, flush=True)

    return note


def _fast_loop() -> Any:
    """uvloop where it exists (it comes with uvicorn[standard], not on Windows): 5-10 % less CPU per call."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
