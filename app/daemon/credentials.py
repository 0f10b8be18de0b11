"""Telling the running Switchboard (daemon or tray) that a server's kept sign-in changed, so it reconnects
that server with the new tokens (or without any) at once: `switchboard login` / `logout` run in their own
process and write the token store themselves, then call `POST <control>/credentials/NAME` with the main
key. Only the server's name travels; never a token. Blocking (urllib, the keyring): off any event loop.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from app.daemon import local_http
from app.daemon.control import main_key_for
from app.daemon.instance import RuntimeInfo, running_instance

ROUTE = "/credentials"


def running_config(state_dir: Path) -> Path | None:
    """The config file the running instance follows, if one runs (login uses it when no --config is given)."""
    info = running_instance(state_dir)
    return Path(info.config) if info is not None else None


def tell_running(state_dir: Path, server: str) -> str:
    """Ask the running instance to reconnect `server`; returns a sentence saying what happened (never raises
    for a gateway that is not there: the sign-in is kept either way and used at its next start)."""
    info = running_instance(state_dir)
    if info is None or not info.control:
        return f"Switchboard is not running; {server} connects with it when it starts."
    return _ask(info, server)


def _ask(info: RuntimeInfo, server: str) -> str:
    key = main_key_for(info)
    if key is None:
        return (f"The running Switchboard (pid {info.pid}) could not be told, since the main API key cannot be "
                f"read; restart {server} from its panel, or `switchboard restart`.")
    assert info.control is not None
    url = f"{info.control.rstrip('/')}{ROUTE}/{quote(server, safe='')}"
    try:
        answer = local_http.call("POST", url, key=key)
    except local_http.NoAnswer as exc:
        return f"The running Switchboard (pid {info.pid}) did not answer ({exc}); it uses the sign-in when restarted."
    if answer.status == 202:
        return f"The running Switchboard (pid {info.pid}) is reconnecting {server}."
    message = answer.body.get("message") or f"it answered HTTP {answer.status}"
    return f"The running Switchboard (pid {info.pid}) did not reconnect {server}: {message}"
