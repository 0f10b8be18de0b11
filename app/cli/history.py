"""`switchboard history`: the recorded calls (or server and key events), newest first, in readable columns
or as JSON lines. Reads the history file directly, read-only, whether the gateway runs or not."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from typing import Any

STATUSES = ("ok", "error", "cancelled", "timed out", "refused")


def add_parsers(sub: Any, config_arg: Any) -> None:
    history = sub.add_parser("history", help="show recorded tool calls (newest first)")
    config_arg(history)
    history.add_argument("--server", help="only calls to this server")
    history.add_argument("--tool", help="only this tool (its published name, server__tool)")
    history.add_argument("--client", help="only calls from this client (its name, e.g. claude-code)")
    history.add_argument("--key", help="only calls made with this key (main, or a per-client key's name)")
    history.add_argument("--status", choices=STATUSES, help="only calls that ended this way")
    history.add_argument("--since", help="only calls since then: 10m, 2h, 3d, 1w, 2026-12-01 or 2026-12-01T14:30")
    history.add_argument("--search", help="text anywhere in the client, key, server, tool or error")
    history.add_argument("-n", type=int, default=20, metavar="N", help="how many (default 20, at most 1000)")
    history.add_argument("--json", action="store_true", help="one JSON object per line, every stored field")
    history.add_argument("--events", action="store_true", help="server and key events instead of calls")
    history.set_defaults(func=cmd_history)


def cmd_history(args: argparse.Namespace) -> int:
    from app.gateway import HistoryError, SqliteHistoryReader, parse_since
    from app.launch import history_path

    if not 1 <= args.n <= 1000:
        print(f"switchboard: -n must be from 1 to 1000, got {args.n}", file=sys.stderr)
        return 2
    since = None
    if args.since:
        try:
            since = parse_since(args.since)
        except ValueError as exc:
            print(f"switchboard: --since: {exc}", file=sys.stderr)
            return 2
    path = history_path()
    try:
        with SqliteHistoryReader(path) as history:
            if args.events:
                records: list[Any] = history.events(subject=args.server, since=since, limit=args.n)
            else:
                records = history.calls(
                    server=args.server, tool=args.tool, client=args.client, key_name=args.key, status=args.status,
                    since=since, limit=args.n, text=args.search,
                )  # fmt: skip
    except HistoryError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 1
    if args.json:
        for record in records:
            print(json.dumps(dataclasses.asdict(record), ensure_ascii=False, default=str))
        return 0
    if not records:
        print("No calls match." if not args.events else "No events match.", file=sys.stderr)
        return 0
    print(_events_table(records) if args.events else _calls_table(records))
    return 0


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _duration(ms: float | None) -> str:
    if ms is None:
        return ""
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def _calls_table(records: list[Any]) -> str:
    rows = [
        [_when(r.started_at), r.client_name or "-", r.key_name, r.tool, r.status, _duration(r.duration_ms),
         (r.error or "").splitlines()[0] if r.error else ""]
        for r in records
    ]  # fmt: skip
    return _table(["TIME", "CLIENT", "KEY", "TOOL", "STATUS", "DURATION", "ERROR"], rows, right={5})


def _events_table(records: list[Any]) -> str:
    rows = [[_when(r.at), r.kind.replace("_", " "), r.subject, r.detail] for r in records]
    return _table(["TIME", "EVENT", "SUBJECT", "DETAIL"], rows)


def _table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    """Columns as wide as their widest cell (capped), the last one cut to the terminal's width."""
    right = right or set()
    widths = [min(40, max(len(h), *(len(row[i]) for row in rows))) for i, h in enumerate(headers)]
    total = shutil.get_terminal_size((120, 24)).columns
    widths[-1] = max(len(headers[-1]), total - sum(widths[:-1]) - 2 * (len(widths) - 1))

    def line(cells: list[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            text = cell if len(cell) <= widths[i] else cell[: widths[i] - 1] + "…"
            out.append(text.rjust(widths[i]) if i in right else text.ljust(widths[i]))
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])
