"""The key verbs of the CLI: show-key, rotate-key, keys add/list/revoke. Sentences out, never a traceback.

A key goes alone on stdout (so `switchboard show-key | pbcopy` works); everything else on stderr.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app import paths
from app.cli.output import fail, say
from app.config import ClientKey, ConfigError, ConfigStore
from app.launch import config_store
from app.secrets import client_keys
from app.secrets.client_keys import ClientKeyError
from app.secrets.keystore import KeyStore, KeyStoreError


def add_parsers(subparsers: Any, _config_arg: Any) -> None:
    """Add the key verbs to the CLI's subparsers; each sets `func` to a handler returning an exit code."""
    show = subparsers.add_parser("show-key", help="print the API key clients must send")
    _config_arg(show)
    show.set_defaults(func=show_key)

    rotate = subparsers.add_parser("rotate-key", help="replace the API key; the old one stops working at once")
    _config_arg(rotate)
    rotate.set_defaults(func=rotate_key)

    keys = subparsers.add_parser("keys", help="named per-client keys, each limited to some servers or tools")
    _config_arg(keys)
    verbs = keys.add_subparsers(dest="keys_command", metavar="VERB", required=True)

    add = verbs.add_parser("add", help="make a key for one client; it is shown once")
    add.add_argument("name", help="a name for the client, e.g. cursor (letters, digits, '.', '_', '-')")
    add.add_argument("--servers", type=_names, help="comma-separated servers it may use (default: all)")
    add.add_argument("--tools", type=_names, help="comma-separated tools it may call, as server__tool (default: all)")
    add.add_argument(
        "--tool-search", action=argparse.BooleanOptionalAction, default=None,
        help="this client sees three search tools instead of every tool (default: gateway.tool_search)",
    )
    add.add_argument("--rate-limit", type=_rate, metavar="N/min", help="at most N calls a minute, across servers")
    add.add_argument("--burst", type=_positive, metavar="M", help="calls at once within --rate-limit (default N/6)")
    add.add_argument(
        "--policy", type=_policy, action="append", metavar="GLOB=POLICY",
        help="allow, deny or ask for the tools GLOB matches (server__tool names); repeat for more",
    )
    add.add_argument(
        "--keep", action="store_true",
        help="also keep the key in the keyring (or a 0600 file) for `switchboard stdio --key-name NAME`",
    )
    _config_arg(add)
    add.set_defaults(func=keys_add)

    listing = verbs.add_parser("list", help="list the per-client keys (names and limits, never the keys)")
    _config_arg(listing)
    listing.set_defaults(func=keys_list)

    revoke = verbs.add_parser("revoke", help="delete a per-client key; clients using it are refused")
    revoke.add_argument("name")
    _config_arg(revoke)
    revoke.set_defaults(func=keys_revoke)


def _rate(text: str) -> float:
    number, _, unit = text.strip().partition("/")
    try:
        value = float(number)
    except ValueError:
        value = 0.0
    if value <= 0 or unit.strip().lower() not in ("min", "m", "minute"):
        raise argparse.ArgumentTypeError(f"{text!r}: give calls per minute as N/min, e.g. 60/min")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of at least 1")
    return int(text)


def _policy(text: str) -> tuple[str, str]:
    glob, _, policy = text.partition("=")
    if not glob.strip() or policy.strip() not in ("allow", "deny", "ask"):
        raise argparse.ArgumentTypeError(f"{text!r}: give GLOB=allow, GLOB=deny or GLOB=ask, e.g. 'files__write*=ask'")
    return glob.strip(), policy.strip()


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one name, separated by commas")
    return names


def _config_path(args: argparse.Namespace) -> Path:
    return getattr(args, "config", None) or paths.default_config_path()


def _store(args: argparse.Namespace) -> KeyStore:
    return KeyStore(_config_path(args).parent)


def _config(args: argparse.Namespace) -> ConfigStore:
    return config_store(_config_path(args))




# -- the main key -----------------------------------------------------------------------------


def show_key(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        key = store.load_or_create()
    except KeyStoreError as exc:
        return fail(str(exc))
    print(key)
    say(f"The API key is {store.location()}.")
    say("Clients send it as 'Authorization: Bearer <key>', 'X-API-Key: <key>' or '?api_key=<key>'.")
    return 0


def rotate_key(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        key = store.rotate()
    except KeyStoreError as exc:
        return fail(str(exc))
    print(key)
    say(f"This is the new API key; it is {store.location()}.")
    say("The old key no longer works, on a running gateway too. Give the new one to your clients.")
    return 0


# -- per-client keys --------------------------------------------------------------------------


def keys_add(args: argparse.Namespace) -> int:
    config = _config(args)
    try:
        if args.burst is not None and args.rate_limit is None:
            return fail("--burst needs --rate-limit N/min")
        rate = None if args.rate_limit is None else {"per_minute": args.rate_limit, "burst": args.burst}
        key = client_keys.add(
            config, args.name, servers=args.servers, tools=args.tools, tool_search=args.tool_search,
            rate_limit=rate, policy=dict(args.policy or []),
        )  # fmt: skip
        known = set(config.config.mcpServers) | set(config.config.invalid)
        if args.keep:
            _store(args).keep(args.name, key)
    except (ClientKeyError, ConfigError, KeyStoreError) as exc:
        return fail(str(exc))
    print(key)
    entry = next(e for e in client_keys.list_keys(config) if e.name == args.name)
    say(f"Added the key {args.name!r}: it may use {_limits(entry)}.")
    for server in args.servers or []:
        if server not in known:
            say(f"Note: there is no server named {server!r} in {config.path} yet.")
    if args.keep:
        say(f"It is also kept beside the main key, for `switchboard stdio --key-name {args.name}`.")
    else:
        say("Copy it now: it is not stored anywhere and will not be shown again.")
    return 0


def keys_list(args: argparse.Namespace) -> int:
    try:
        entries = client_keys.list_keys(_config(args))
    except ConfigError as exc:
        return fail(str(exc))
    if not entries:
        say("There are no per-client keys. Add one with `switchboard keys add NAME`.")
        return 0
    for entry in entries:
        print(f"{entry.name}: {_limits(entry)}")
    return 0


def keys_revoke(args: argparse.Namespace) -> int:
    try:
        client_keys.revoke(_config(args), args.name)
        _store(args).forget(args.name)
    except (ClientKeyError, ConfigError) as exc:
        return fail(str(exc))
    say(f"Revoked the key {args.name!r}: clients using it are refused, on a running gateway too.")
    return 0


def _limits(entry: ClientKey) -> str:
    where = "every server" if entry.servers is None else "the servers " + ", ".join(entry.servers)
    text = f"{where}, every tool" if entry.tools is None else f"{where}, only the tools " + ", ".join(entry.tools)
    if entry.tool_search is not None:
        text += "; tool search mode" if entry.tool_search else "; every tool listed (no tool search)"
    if entry.rate_limit is not None:
        text += f"; at most {entry.rate_limit.describe()}"
    if entry.policy:
        text += "; policy " + ", ".join(f"{glob}={policy}" for glob, policy in entry.policy.items())
    return text
