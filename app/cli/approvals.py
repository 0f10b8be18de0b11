"""The approval verbs: `approvals [--json]` lists the calls waiting for approval, `approve ID` / `deny ID`
answer one. For headless machines and scripts; the tray and the panel answer the same calls."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app import paths
from app.cli.output import fail


def add_parsers(sub: Any, config_arg: Any) -> None:
    listing = sub.add_parser("approvals", help="list the calls waiting for approval (policy 'ask'), with their ids")
    listing.add_argument("--json", action="store_true", help="print them as JSON, for scripts")
    listing.set_defaults(func=cmd_approvals)
    for verb, text in (("approve", "let one waiting call through"), ("deny", "refuse one waiting call")):
        parser = sub.add_parser(verb, help=f"{text} (its id from `switchboard approvals`)")
        parser.add_argument("id", help="the call's id, as `switchboard approvals` lists it")
        parser.set_defaults(func=cmd_answer, verb=verb)



def cmd_approvals(args: argparse.Namespace) -> int:
    from app.daemon.approvals import ApprovalsError, pending

    try:
        items = pending(paths.state_dir())
    except ApprovalsError as exc:
        return fail(str(exc))
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    if not items:
        print("No call waits for approval.", file=sys.stderr)
        return 0
    for item in items:
        arguments = json.dumps(item.get("arguments"), ensure_ascii=False)
        arguments = arguments if len(arguments) <= 80 else arguments[:79] + "…"
        print(f"{item.get('id')}  {item.get('tool')}  from {item.get('client') or 'a client'} "
              f"(key {item.get('key')}), waiting {item.get('waited_s', 0):.0f} s of {item.get('timeout_s', 0):g}  "
              f"{arguments}")  # fmt: skip
    print("Answer with `switchboard approve ID` or `switchboard deny ID`.", file=sys.stderr)
    return 0


def cmd_answer(args: argparse.Namespace) -> int:
    from app.daemon.approvals import ApprovalsError, answer

    try:
        done = answer(paths.state_dir(), args.id, args.verb)
    except ApprovalsError as exc:
        return fail(str(exc))
    what = "Approved" if args.verb == "approve" else "Denied"
    print(f"{what}: {done.get('tool')} from {done.get('client') or 'a client'} (id {done.get('id')}).", file=sys.stderr)
    return 0
