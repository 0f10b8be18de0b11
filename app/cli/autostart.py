"""`switchboard autostart on|off|status`: launch at login, read from and written to the OS itself
(app/platform/autostart): an XDG autostart entry or a systemd user unit, a LaunchAgent, the Run key."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app import paths


def add_parsers(sub: Any, config_arg: Any) -> None:
    auto = sub.add_parser("autostart", help="start Switchboard at login: on, off, or status")
    verbs = auto.add_subparsers(dest="autostart_command", metavar="VERB", required=True)
    on = verbs.add_parser("on", help="start this Switchboard at every login (the tray; --headless: the gateway)")
    on.add_argument(
        "--headless", action="store_true",
        help="start the headless gateway (`serve`) instead of the tray: for machines without a desktop",
    )
    config_arg(on)  # given: the login command names it too; else the default config is used then
    on.set_defaults(func=cmd_on)
    verbs.add_parser("off", help="no longer start at login (removes what `on` wrote)").set_defaults(func=cmd_off)
    verbs.add_parser("status", help="will it start at the next login, and from where").set_defaults(func=cmd_status)


def _show(state: Any) -> None:
    print(state.detail)
    print(f"  ({state.where})")


def _run(action: Any) -> int:
    from app.platform.autostart import AutostartError, for_this_os

    try:
        state = action(for_this_os())
    except AutostartError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 1
    _show(state)
    return 0


def cmd_on(args: argparse.Namespace) -> int:
    command = paths.self_command()
    config = getattr(args, "config", None)
    if config is not None:
        command += ["--config", str(config.absolute())]  # before the verb: the tray and `serve` both read it
    return _run(lambda auto: auto.enable(command, headless=args.headless))


def cmd_off(args: argparse.Namespace) -> int:
    return _run(lambda auto: auto.disable())


def cmd_status(args: argparse.Namespace) -> int:
    return _run(lambda auto: auto.status())
