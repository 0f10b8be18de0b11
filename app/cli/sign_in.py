"""The sign-in verbs: `login NAME [--no-browser]` signs in to a remote server that asks for OAuth and keeps
its tokens (keyring, or 0600 files); `logout NAME` forgets them. Either way the running Switchboard (the
background gateway or the tray) is told, and reconnects that server at once.

The URL to open goes to stdout (so it can be copied, or read by a script on a machine without a browser);
sentences about it go to stderr. Exit codes: 0 done, 1 refused/failed, 2 bad use, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import webbrowser
from pathlib import Path
from typing import Any

from app import paths
from app.cli.output import fail, say


def add_parsers(sub: Any, config_arg: Any) -> None:
    login = sub.add_parser("login", help="sign in to a remote server that asks for OAuth (opens the browser)")
    login.add_argument("name", help="the server's name in mcpServers")
    login.add_argument("--no-browser", action="store_true",
                       help="print the URL to open instead of opening a browser (headless, SSH)")
    login.add_argument("--timeout", type=float, default=None, metavar="S",
                       help="seconds to wait for the browser to come back (default 300)")
    config_arg(login)
    login.set_defaults(func=cmd_login)

    logout = sub.add_parser("logout", help="forget a remote server's sign-in (its tokens); it then waits for one")
    logout.add_argument("name", help="the server's name in mcpServers")
    config_arg(logout)
    logout.set_defaults(func=cmd_logout)




def _config_path(args: argparse.Namespace) -> Path:
    """--config, else the running instance's config, else the default one."""
    from app.daemon.credentials import running_config

    given = getattr(args, "config", None)
    return Path(given) if given else running_config(paths.state_dir()) or paths.default_config_path()


def _remote_entry(path: Path, name: str) -> Any:
    """The server's RemoteServer entry. Raises ValueError with the sentence to show."""
    from app.config import ConfigError, RemoteServer
    from app.launch import config_store

    try:
        config = config_store(path).open().config
    except ConfigError as exc:
        raise ValueError(exc.sentence()) from None
    if name in config.invalid:
        raise ValueError(f"The entry of {name!r} in {path} cannot be used: {config.invalid[name]}")
    entry = config.mcpServers.get(name)
    if entry is None:
        known = ", ".join(sorted(config.mcpServers)) or "none"
        raise ValueError(f"There is no server named {name!r} in {path} (servers: {known}).")
    if not isinstance(entry, RemoteServer):
        raise ValueError(f"{name!r} is a local command; only remote servers (a \"url\" entry) are signed in to.")
    return entry


def cmd_login(args: argparse.Namespace) -> int:
    from app.gateway import SIGN_IN_TIMEOUT_S, SignInError, sign_in
    from app.secrets import OAuthTokenStore

    path = _config_path(args)
    try:
        entry = _remote_entry(path, args.name)
    except ValueError as exc:
        return fail(str(exc))
    timeout = SIGN_IN_TIMEOUT_S if args.timeout is None else args.timeout
    if timeout <= 0:
        return fail("--timeout needs a number of seconds above 0.", 2)
    store = OAuthTokenStore(path.parent)

    def open_url(url: str) -> None:
        say(f"To sign in to {args.name}, open this address in your browser:")
        print(url, flush=True)
        if not args.no_browser and not _open_browser(url):
            say("No browser could be opened here; open the address above yourself (on this machine).")
        say(f"Waiting up to {timeout:g} s for the browser to come back (Ctrl-C cancels)…")

    try:
        signed = asyncio.run(sign_in(args.name, entry, store, open_url=open_url, timeout=timeout))
    except SignInError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return fail("Sign-in cancelled; nothing was kept.", 130)
    say(f"{signed.sentence()} The tokens are kept in {store.location()}.")
    _tell_running(args.name)
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    from app.gateway import sign_out
    from app.secrets import OAuthTokenStore, TokenStoreError

    path = _config_path(args)
    store = OAuthTokenStore(path.parent)
    try:
        had = store.issuers(args.name)
        asyncio.run(sign_out(args.name, store))
    except TokenStoreError as exc:
        return fail(str(exc))
    if not had:
        say(f"There was no sign-in kept for {args.name}.")
        return 0
    say(f"Forgot the sign-in of {args.name} (at {', '.join(had)}).")
    _tell_running(args.name)
    return 0


def _tell_running(name: str) -> None:
    from app.daemon.credentials import tell_running

    say(tell_running(paths.state_dir(), name))


def _open_browser(url: str) -> bool:
    try:
        return webbrowser.open(url)
    except Exception:  # no browser at all (webbrowser.Error), or one that failed to start
        return False
