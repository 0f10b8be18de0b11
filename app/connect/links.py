"""Connecting an AI client in one step, and undoing it: the entry its own format wants, with a key of its own.

- A client that takes a URL gets Switchboard's URL with a per-client key (named after the client) in the
  Authorization header; with `stdio=True`, or for Claude Desktop (stdio only), it gets the bridge command
  (this very Switchboard + `stdio`), and no key goes into any file: the bridge reads the key itself.
- The key that goes into a file is the one our entry there holds, so connecting twice changes nothing, a new
  URL keeps the key, and disconnect revokes exactly that key (never one the user made by hand).
- A key is made before the file is written (the client can use it at once) and revoked again when the write
  fails, so a failed connect leaves no key behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from app.config import ClientKey, ConfigError, ConfigStore
from app.platform.clients import CLIENTS, Change, ClientError, ClientWriter, Entry, Where, get
from app.platform.clients.safe_write import decode
from app.secrets import client_keys
from app.secrets.client_keys import ClientKeyError

from .gateway_view import GatewayView
from .importing import ENTRY_NAME, ImportReport, all_members, comparable, import_servers
from .results import Connected, Disconnected

if TYPE_CHECKING:
    from .overview import ClientState

class ConnectError(ClientError):
    """A connect or disconnect that cannot be done as asked; str() is one sentence with the fix."""


def config_sentence(exc: ConfigError) -> str:
    """ConfigError's message is one line per problem; here it must be one sentence."""
    where = f"{exc.path}: " if exc.path else ""
    return where + "; ".join(exc.problems) + "."


def default_key_name(client_id: str, project: Path | None) -> str:
    """The client's id; in a project folder, the id and the folder's name (each project file its own key)."""
    if project is None:
        return client_id
    folder = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(project).resolve().name).strip("-.") or "project"
    return f"{client_id}-{folder}"[:64]


def presented_key(entry: dict[str, Any] | None) -> str | None:
    """The API key an entry sends (Authorization: Bearer, X-API-Key or ?api_key=), if any."""
    if not entry:
        return None
    headers = entry.get("headers")
    for name, value in (headers if isinstance(headers, dict) else {}).items():
        if not isinstance(value, str):
            continue
        if name.lower() == "authorization" and value[:7].lower() == "bearer ":
            return value[7:].strip()
        if name.lower() == "x-api-key":
            return value.strip()
    url = entry.get("url")
    if isinstance(url, str):
        found = parse_qs(urlsplit(url).query).get("api_key")
        if found:
            return found[0]
    return None


class Connector:
    """Connects clients for one config store. `gateway()` says where the gateway is (it may block: I/O)."""

    def __init__(
        self,
        store: ConfigStore,
        gateway: Callable[[], GatewayView],
        *,
        bridge: Sequence[str],
        where: Where | None = None,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.bridge = tuple(bridge)
        self.where = where or Where()

    # -- connect -------------------------------------------------------------------------------------------

    def connect(
        self,
        client_id: str,
        *,
        stdio: bool = False,
        project: Path | None = None,
        replace: bool = False,
        key_name: str | None = None,
        servers: Sequence[str] | None = None,
    ) -> Connected:
        """Raises ClientError (ConnectError, ClientFileError, ...) with the sentence to show; writes nothing then."""
        writer = get(client_id)
        path = writer.config_path(self.where, project)
        current = writer.servers(self.where, project).get(ENTRY_NAME)
        held = self.key_held_by(current)
        if replace:
            self._check_replace(writer, project)
        if stdio or not writer.http:
            if servers is not None:
                raise ConnectError(
                    "--servers limits a per-client key, and a bridge entry has none; connect without --servers, "
                    "or over HTTP (without --via stdio) for a limited key."
                )
            command = (*self.bridge, "stdio", *(("--key-name", key_name) if key_name else ()))
            change = self._write(writer, Entry(ENTRY_NAME, command=command[0], args=command[1:]), project, replace)
            revoked = self._revoke(held.name) if held is not None else None
            return Connected(writer, change, "stdio", None, command, None, False, revoked, ())

        view = self.gateway()
        url = self._url(view)
        name = key_name or default_key_name(client_id, project)
        key, made, limited = self._key_for(writer, path, name, held, current, servers)
        try:
            change = self._write(writer, Entry(ENTRY_NAME, url=url, headers={"Authorization": f"Bearer {key}"}),
                                 project, replace)
        except BaseException:
            if made:
                self._revoke(name)
            raise
        revoked = self._revoke(held.name) if held is not None and held.name != name else None
        notes = self._notes(writer, view, url, project, servers if servers is not None else self._limits(name))
        return Connected(writer, change, "http", url, (), name, made, revoked, tuple(notes), limited)

    def _url(self, view: GatewayView) -> str:
        if view.running and view.config is not None and not _same(view.config, self.store.path):
            raise ConnectError(
                f"Switchboard is running with the config {view.config}, not {self.store.path}, so a key added "
                f"here would not work there; connect with --config {view.config}."
            )
        if view.url is None:
            raise ConnectError(
                f"Switchboard has no fixed address to write: gateway.port is 0 (a new port on every start) in "
                f"{self.store.path}; set a port there or in Settings, or start Switchboard, and connect again."
            )
        return view.url

    def _key_for(
        self,
        writer: ClientWriter,
        path: Path,
        name: str,
        held: ClientKey | None,
        current: dict[str, Any] | None,
        servers: Sequence[str] | None,
    ) -> tuple[str, bool, tuple[str, ...] | None]:
        """The key to write, whether it was just made, and the servers a kept key was newly limited to.

        The key the entry already holds is kept when it has that name (a --servers change edits its limits).
        """
        if held is not None and held.name == name:
            key = presented_key(current)
            assert key is not None
            wanted = None if servers is None else list(dict.fromkeys(servers))
            if wanted is not None and held.servers != wanted:
                self._set_servers(name, wanted)
                return key, False, tuple(wanted)
            return key, False, None
        if any(k.name == name for k in self._keys()):
            raise ConnectError(
                f"A key named '{name}' already exists and {path} does not hold it (it was made by hand, or the "
                f"entry was taken out); revoke it with `switchboard keys revoke {name}` and connect again, "
                "or name the new key with --key-name."
            )
        try:
            return client_keys.add(self.store, name, servers=servers), True, None
        except ClientKeyError as exc:
            raise ConnectError(str(exc)) from None

    def _notes(
        self, writer: ClientWriter, view: GatewayView, url: str, project: Path | None, servers: Sequence[str] | None
    ) -> list[str]:
        from .tool_cap import cap_note

        notes = []
        if not view.running:
            notes.append(f"Switchboard is not running: start it (the tray, or `switchboard serve`) for "
                         f"{writer.title} to reach {url}.")
        elif self._config_port() == 0:
            notes.append(f"The gateway's port is 0 in {self.store.path}, so this URL changes when Switchboard "
                         "restarts; set a fixed port (Settings, or gateway.port) and connect again.")
        cap = cap_note(writer, view, servers)
        if cap:
            notes.append(cap)
        if project is not None:
            notes.append(f"{writer.config_path(self.where, project)} now holds an API key: keep it out of version "
                         "control (.gitignore), or connect with --via stdio to write no key.")
        return notes

    def _check_replace(self, writer: ClientWriter, project: Path | None) -> None:
        """--replace takes the client's own servers out of its file: only when Switchboard can run them all."""
        path = writer.config_path(self.where, project)
        runnable = writer.servers(self.where, project)
        theirs = [n for n in all_members(writer, self.where, project) if n != ENTRY_NAME]
        unrunnable = [n for n in theirs if n not in runnable]
        if unrunnable:
            raise ConnectError(
                f"{path}: {writer.title}'s {_servers(unrunnable)} neither a command nor a URL, so Switchboard "
                "cannot run it and --replace would take it away; remove it by hand, or connect without --replace."
            )
        loaded = self._open()
        ours = set(loaded.config.mcpServers) | set(loaded.config.invalid)
        missing = [n for n in theirs if n not in ours]
        if missing:
            raise ConnectError(
                f"--replace would take {_named(missing)} out of {path}, and Switchboard does not have "
                f"{'it' if len(missing) == 1 else 'them'} yet; run `switchboard import {writer.id}` first "
                "(or Import its servers in the panel), then connect again with --replace."
            )
        raw = loaded.raw.get("mcpServers", {})
        differing = [n for n in theirs if comparable(raw.get(n)) != comparable(runnable[n])]
        if differing:
            raise ConnectError(
                f"{writer.title}'s {_servers(differing)} not the same as Switchboard's entry of that name, so "
                f"--replace would lose {writer.title}'s version; rename it in {path}, run `switchboard import "
                f"{writer.id}`, then connect again with --replace."
            )

    # -- disconnect ----------------------------------------------------------------------------------------

    def disconnect(self, client_id: str, *, project: Path | None = None) -> Disconnected:
        writer = get(client_id)
        held = self.key_held_by(writer.servers(self.where, project).get(ENTRY_NAME))
        change = writer.disconnect(self.where, ENTRY_NAME, project=project)
        revoked = self._revoke(held.name) if held is not None and change.changed else None
        return Disconnected(writer, change, revoked, self._only_in_backup(writer, project, change))

    def _only_in_backup(self, writer: ClientWriter, project: Path | None, change: Change) -> tuple[str, ...]:
        if not change.changed or change.backup is None:
            return ()
        try:
            now = all_members(writer, self.where, project)
            data = change.backup.read_bytes()
            kept = writer.document(change.backup, decode(change.backup, data)).members(writer.container)
        except (ClientError, OSError):
            return ()  # only a hint: a backup that cannot be read is no reason to fail a done disconnect
        return tuple(n for n in kept if n not in now and n != ENTRY_NAME)

    # -- the overview and import -----------------------------------------------------------------------------

    def overview(self, view: GatewayView | None = None) -> list[ClientState]:
        """Every known client's state (never raises for a client's file: that is its state)."""
        from .overview import client_states

        return client_states(self, CLIENTS.values(), view or self.gateway(), store=self.store)

    def import_servers(self, client_ids: Sequence[str] | None = None, *, project: Path | None = None) -> ImportReport:
        """Copy clients' own servers into Switchboard's config: the named ones, or every client that has a file."""
        if client_ids:
            writers = [get(client_id) for client_id in client_ids]
        else:
            writers = [w for w in CLIENTS.values() if w.config_path(self.where, project).exists()]
        view = self.gateway()
        try:
            return import_servers(
                self.store, writers, self.where, project=project, gateway_url=view.url, bridge=self.bridge
            )
        except ConfigError as exc:
            raise ConnectError(config_sentence(exc) + " Nothing was imported.") from None

    # -- keys and the config -------------------------------------------------------------------------------

    def _open(self) -> Any:
        try:
            return self.store.open()
        except ConfigError as exc:
            raise ConnectError(config_sentence(exc)) from None

    def _keys(self) -> list[ClientKey]:
        try:
            return client_keys.list_keys(self.store)
        except ConfigError as exc:
            raise ConnectError(config_sentence(exc)) from None

    def _config_port(self) -> int:
        return int(self._open().config.gateway.port)

    def key_held_by(self, entry: dict[str, Any] | None) -> ClientKey | None:
        """The per-client key an entry sends, if it is one of ours (never the main key)."""
        key = presented_key(entry)
        if key is None:
            return None
        digest = client_keys.digest(key)
        return next((k for k in self._keys() if k.sha256 == digest), None)

    def _limits(self, name: str) -> list[str] | None:
        return next((k.servers for k in self._keys() if k.name == name), None)

    def _set_servers(self, name: str, servers: Sequence[str]) -> None:
        def change(raw: dict[str, Any]) -> None:
            for entry in raw.get("gateway", {}).get("client_keys", []):
                if isinstance(entry, dict) and entry.get("name") == name:
                    entry["servers"] = list(dict.fromkeys(servers))

        try:
            self.store.update(change)
        except ConfigError as exc:
            raise ConnectError(config_sentence(exc)) from None

    def _revoke(self, name: str) -> str | None:
        try:
            client_keys.revoke(self.store, name)
        except ClientKeyError:
            return None  # already gone (revoked by hand meanwhile): nothing to undo
        return name

    def _write(self, writer: ClientWriter, entry: Entry, project: Path | None, replace: bool) -> Change:
        return writer.connect(self.where, entry, project=project, replace=replace)


def _named(names: Sequence[str]) -> str:
    quoted = ", ".join(f"'{n}'" for n in names)
    return f"server {quoted}" if len(names) == 1 else f"servers {quoted}"


def _servers(names: Sequence[str]) -> str:
    return _named(names) + (" is" if len(names) == 1 else " are")


def _same(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return str(a) == str(b)
