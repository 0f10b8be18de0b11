"""Every known client at a glance: installed or not (and how that was found), connected or not, its file.

A file Switchboard cannot read is a state of its own ("file problem", with the writer's sentence), never an
exception: one broken client file must not hide the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app.config import ConfigError, ConfigStore
from app.platform.clients import ClientError, ClientWriter

from .gateway_view import GatewayView
from .importing import ENTRY_NAME, points_at_switchboard
from .links import Connector, presented_key

State = Literal["connected", "not connected", "no config file", "file problem"]


@dataclass(frozen=True)
class ClientState:
    id: str
    title: str
    installed: bool
    found: str  # how it was found, or what was looked for
    path: Path
    shown_path: str  # `~/...`
    state: State
    problem: str | None  # the sentence for a file problem (names the file, the line and the fix)
    via: Literal["http", "stdio"] | None  # what our entry is, when connected
    key_name: str | None  # the per-client key our entry sends
    outdated: str | None  # our entry points at another address than the gateway's: connect again
    servers: tuple[str, ...]  # the client's own servers (ours left out)
    new_servers: tuple[str, ...]  # of those, the ones Switchboard does not have yet: what Import would add
    restart_note: str  # empty: the client picks the change up by itself
    tool_cap: int | None
    http: bool

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "installed": self.installed,
            "found": self.found,
            "config_path": str(self.path),
            "state": self.state,
            "connected": self.connected,
            "problem": self.problem,
            "via": self.via,
            "key_name": self.key_name,
            "outdated": self.outdated,
            "servers": list(self.servers),
            "new_servers": list(self.new_servers),
            "restart_needed": bool(self.restart_note),
            "restart_note": self.restart_note,
            "tool_cap": self.tool_cap,
            "takes_url": self.http,
        }


def client_states(
    connector: Connector, writers: Iterable[ClientWriter], view: GatewayView, *, store: ConfigStore
) -> list[ClientState]:
    try:
        ours: dict[str, Any] = dict(store.open().raw.get("mcpServers") or {})
    except ConfigError:  # a broken config: every client's servers count as new; nothing else depends on it
        ours = {}
    return [_state(connector, writer, view, ours) for writer in writers]


def _state(connector: Connector, writer: ClientWriter, view: GatewayView, ours: dict[str, Any]) -> ClientState:
    where = connector.where
    installed, found = writer.installed(where)
    path = writer.config_path(where)
    state: State
    problem = key_name = outdated = None
    via: Literal["http", "stdio"] | None = None
    servers: Sequence[str] = ()
    new: Sequence[str] = ()
    try:
        status = writer.status(where, ENTRY_NAME)
        entries = writer.servers(where)
    except ClientError as exc:
        state, problem = "file problem", str(exc)
    else:
        state = status
        entry = entries.get(ENTRY_NAME)
        if entry is not None:
            via = "http" if "url" in entry else "stdio"
            held = connector.key_held_by(entry) if via == "http" else None
            key_name = held.name if held is not None else None
            outdated = _outdated(entry, view, presented_key(entry) is not None and held is None)
        own = {
            n: e
            for n, e in entries.items()
            if n != ENTRY_NAME and not points_at_switchboard(e, view.url, connector.bridge)
        }
        servers = tuple(own)
        new = tuple(n for n in own if n not in ours)
    return ClientState(
        id=writer.id,
        title=writer.title,
        installed=installed,
        found=found,
        path=path,
        shown_path=where.show(path),
        state=state,
        problem=problem,
        via=via,
        key_name=key_name,
        outdated=outdated,
        servers=tuple(servers),
        new_servers=tuple(new),
        restart_note=writer.restart_note,
        tool_cap=writer.tool_cap,
        http=writer.http,
    )


def _outdated(entry: dict[str, Any], view: GatewayView, unknown_key: bool) -> str | None:
    url = entry.get("url")
    if isinstance(url, str) and view.url and url.split("?")[0] != view.url:
        return f"it points at {url.split('?')[0]}, and Switchboard is at {view.url}: connect again"
    if unknown_key:
        return "its key is not a per-client key Switchboard knows (revoked, or the main key): connect again"
    return None
