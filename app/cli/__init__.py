"""Argument parsing and dispatch only; each verb group's module adds its parsers and calls into the
packages that do the work."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app import __version__, paths
from app.cli import approvals, autostart, clients, daemon, history, keys, serve, stdio
from app.cli.display import has_display


def config_arg(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a --config given before the verb (`switchboard --config X show-key`) is kept.
    parser.add_argument(
        "--config", type=Path, default=argparse.SUPPRESS, help=f"config file (default: {paths.default_config_path()})"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description="A local MCP gateway for all your AI clients.")
    parser.add_argument("--version", action="version", version=f"switchboard {__version__}")
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
    autostart.add_parsers(sub, config_arg)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "func", None) is None:
            if has_display():
                from app.main import run_tray  # the only path into Qt

                return run_tray(args.config)
            print("No display found: running the gateway headless (switchboard serve).", file=sys.stderr)
            return serve.serve(args.config)
        return int(args.func(args))
    except BrokenPipeError:
        # `switchboard clients --json | head`: the reader left. Say nothing more, and let no flush at exit fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _demo_server(args: argparse.Namespace) -> int:
    from app.demo_server import main as demo_main

    return demo_main()
