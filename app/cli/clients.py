"""The client verbs: connect, disconnect, clients, import. What happened on stdout; problems on stderr.

Every problem is one sentence that names the file (and the line) and the fix; a file that does not parse is
never written. The work is in app.connect; this module parses, picks the config and prints.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import paths
from app.cli.output import fail
from app.config import ConfigError

if TYPE_CHECKING:
    from app.connect import ClientState, Connector

# The clients' ids for --help, written out so that `serve`, `start` and the bridge (which build this same
# parser) do not import the client writers and their file-format libraries (~6 MB) to print nothing.
# tests/platform keeps it equal to app.platform.clients.CLIENTS.
CLIENT_IDS = ("claude-desktop", "claude-code", "cursor", "vscode", "windsurf", "zed", "codex", "gemini",
              "lm-studio", "cline")  # fmt: skip
CLIENT_HELP = "one of: " + ", ".join(CLIENT_IDS)


def add_parsers(sub: Any, config_arg: Any) -> None:
    """Add the client verbs to the CLI's subparsers; each sets `func` to a handler returning an exit code."""
    connect = sub.add_parser(
        "connect",
        help="connect an AI client: write Switchboard's entry into its config file",
        description="Write one Switchboard entry into the client's own config file: a URL with a key of its own "
        "for clients that take one, the stdio bridge for Claude Desktop (or with --via stdio). "
        "Running it again changes nothing.",
    )
    connect.add_argument("client", metavar="CLIENT", help=CLIENT_HELP)
    connect.add_argument(
        "--via", choices=["stdio"], help="use the stdio bridge instead of a URL: no key is written in any file"
    )
    connect.add_argument("--project", type=Path, metavar="DIR", help="write the project's file in DIR, not the user's")
    connect.add_argument(
        "--replace",
        action="store_true",
        help="also take the client's own servers out of its file (after `switchboard import`; kept in the backup)",
    )
    connect.add_argument("--key-name", metavar="NAME", help="name of the client's key (default: the client's id)")
    connect.add_argument("--servers", type=_names, help="comma-separated servers the client's key may use")
    config_arg(connect)
    connect.set_defaults(func=cmd_connect)

    disconnect = sub.add_parser(
        "disconnect", help="take Switchboard's entry out of a client's config file and revoke the key it made"
    )
    disconnect.add_argument("client", metavar="CLIENT", help=CLIENT_HELP)
    disconnect.add_argument("--project", type=Path, metavar="DIR", help="the project's file in DIR")
    config_arg(disconnect)
    disconnect.set_defaults(func=cmd_disconnect)

    listing = sub.add_parser("clients", help="list the AI clients Switchboard knows: installed, connected, their files")
    listing.add_argument("--json", action="store_true", help="print JSON (one object per client)")
    config_arg(listing)
    listing.set_defaults(func=cmd_clients)

    importing = sub.add_parser(
        "import", help="copy the servers a client already has into Switchboard's config (the client file is only read)"
    )
    importing.add_argument("client", metavar="CLIENT", nargs="?", help=f"{CLIENT_HELP} (default: every client)")
    importing.add_argument("--project", type=Path, metavar="DIR", help="the project's file in DIR")
    config_arg(importing)
    importing.set_defaults(func=cmd_import)


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one server name, separated by commas")
    return names


def _connector(args: argparse.Namespace) -> Connector:
    """The connector for the config in use: --config, else the running instance's, else the default."""
    from app.connect import Connector, find_gateway
    from app.daemon.instance import running_instance
    from app.launch import config_store

    path = getattr(args, "config", None)
    if path is None:
        info = running_instance(paths.state_dir())
        path = Path(info.config) if info is not None else paths.default_config_path()
    store = config_store(path)
    return Connector(store, lambda: find_gateway(store, paths.state_dir()), bridge=paths.self_command())



def _run(args: argparse.Namespace, verb: Any) -> int:
    from app.connect.links import config_sentence
    from app.platform.clients import ClientError

    try:
        return int(verb(_connector(args)))
    except ClientError as exc:
        return fail(str(exc))
    except ConfigError as exc:
        return fail(config_sentence(exc))


def _print(lines: list[str]) -> None:
    for line in lines:
        print(line)


# -- the verbs ------------------------------------------------------------------------------------------------


def cmd_connect(args: argparse.Namespace) -> int:
    def verb(connector: Connector) -> int:
        done = connector.connect(
            args.client,
            stdio=args.via == "stdio",
            project=args.project,
            replace=args.replace,
            key_name=args.key_name,
            servers=args.servers,
        )
        _print(done.lines(connector.where))
        return 0

    return _run(args, verb)


def cmd_disconnect(args: argparse.Namespace) -> int:
    def verb(connector: Connector) -> int:
        _print(connector.disconnect(args.client, project=args.project).lines(connector.where))
        return 0

    return _run(args, verb)


def cmd_import(args: argparse.Namespace) -> int:
    def verb(connector: Connector) -> int:
        report = connector.import_servers([args.client] if args.client else None, project=args.project)
        if not report.clients:
            print("No client config files were found, so there is nothing to import.")
            return 0
        for result in report.clients:
            if result.error is not None:  # nothing was taken from that file; the others went ahead
                fail(result.error)
                continue
            print(f"{result.writer.title} ({connector.where.show(result.path)}):")
            for line in result.lines(report.config):
                print(f"  {line}")
        if report.imported:
            print(f"Saved to {report.config}; a running Switchboard starts them at once.")
            replaceable = [c.writer.id for c in report.clients if c.imported or c.duplicates]
            example = replaceable[0] if replaceable else "CLIENT"
            print(
                f"`switchboard connect {example} --replace` then swaps that client's own entries for "
                "Switchboard's one (the originals stay in the file's backup)."
            )
        return 1 if report.failed else 0

    return _run(args, verb)


def cmd_clients(args: argparse.Namespace) -> int:
    def verb(connector: Connector) -> int:
        states = connector.overview()
        if args.json:
            print(json.dumps([s.as_json() for s in states], indent=2))
        else:
            _print(table(states))
        return 0

    return _run(args, verb)


def table(states: list[ClientState]) -> list[str]:
    """One row per client, then a line for each thing to know (a broken file, an outdated entry)."""
    rows = [("CLIENT", "INSTALLED", "CONNECTED", "RESTART", "SERVERS", "CONFIG FILE")]
    notes = []
    for s in states:
        installed = f"yes: {s.found}" if s.installed else "no"
        if s.state == "connected":
            connected = f"yes ({s.via}" + (f", key {s.key_name})" if s.key_name else ")")
        elif s.state == "file problem":
            connected = "file problem"
        else:
            connected = "no"
        restart = "yes" if s.restart_note else "no"
        servers = str(len(s.servers)) if s.state != "file problem" else "?"
        rows.append((s.id, installed, connected, restart, servers, s.shown_path))
        if s.problem:
            notes.append(f"{s.id}: {s.problem}")
        if s.outdated:
            notes.append(f"{s.id}: {s.outdated}.")
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1] for row in rows]
    lines = [line.rstrip() for line in lines]
    new = [s for s in states if s.new_servers and s.state != "file problem"]
    if new:
        names = ", ".join(f"{s.id} ({len(s.new_servers)})" for s in new)
        notes.append(f"Servers Switchboard does not have yet: {names}; `switchboard import CLIENT` copies them.")
    notes.append("RESTART: whether the client must be restarted (or a new session started) to see a change.")
    return [*lines, "", *notes]
