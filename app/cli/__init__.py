"""Argument parsing and dispatch only; each verb group's module adds its parsers and calls into the
packages that do the work."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app import __version__, paths
from app.cli import approvals, autostart, clients, daemon, history, keys, serve, sign_in, stdio
from app.cli.display import has_display


def config_arg(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a --config given before the verb (`switchboard --config X show-key`) is kept.
    parser.add_argument(
        "--config", type=Path, default=argparse.SUPPRESS, help=f"config file (default: {paths.default_config_path()})"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description="A local MCP gateway for all your AI clients.")
    parser.add_argument("--version", action="version", version=f"switchboard {__version__}")
    parser.add_argument(
        "--self-test", action="store_true",
        help="serve the bundled demo server in a throwaway home, call it over every transport, say what worked",
    )
    default = paths.default_config_path()
    parser.add_argument("--config", type=Path, default=None, help=f"config file (default: {default})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve.add_parsers(sub, config_arg)
    daemon.add_parsers(sub, config_arg)
    demo = sub.add_parser("demo-server", help="run the bundled demo MCP server on stdio (used as a child)")
    demo.set_defaults(func=_demo_server)
    keys.add_parsers(sub, config_arg)
    stdio.add_parsers(sub, config_arg)
    clients.add_parsers(sub, config_arg)
    history.add_parsers(sub, config_arg)
    approvals.add_parsers(sub, config_arg)
    sign_in.add_parsers(sub, config_arg)
    autostart.add_parsers(sub, config_arg)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.self_test:
            from app.selftest import run

            return run()
        if getattr(args, "func", None) is None:
            problem = _tray_problem()
            if problem is None:
                from app.main import run_tray  # the only path into Qt

                return run_tray(args.config)
            print(f"{problem} Running the gateway headless (switchboard serve).", file=sys.stderr)
            return serve.serve(args.config)
        return int(args.func(args))
    except BrokenPipeError:
        # `switchboard clients --json | head`: the reader left. Say nothing more, and let no flush at exit fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _tray_problem() -> str | None:
    """Why the tray cannot start here (one sentence), or None. Probed before Qt is loaded: a missing system
    library makes Qt abort the whole process, so a child process tries it first (Linux, where that happens)."""
    if not has_display():
        return "No display found."
    if sys.platform.startswith("linux"):
        from app.ui.platform_probe import probe_qt_platform  # no Qt import at module level

        return probe_qt_platform()
    return None


def _demo_server(args: argparse.Namespace) -> int:
    from app.demo_server import main as demo_main

    return demo_main()
