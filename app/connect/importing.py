"""`switchboard import`: the servers a client already has, copied into Switchboard's `mcpServers`.

Only Switchboard's config is written, in one locked read-modify-write; the client's file is only read.
Names stay as the client has them and `${VAR}` stays a reference. A name Switchboard already has is never
overwritten: the same entry is a duplicate (skipped), a different one is a conflict (ours kept, said so).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.config import ConfigError, ConfigStore
from app.platform.clients import ClientError, ClientWriter, Where
from app.platform.clients.safe_write import decode, read_bytes

ENTRY_NAME = "switchboard"
# Cursor, VS Code and Windsurf spell an environment variable `${env:NAME}`; Switchboard spells it `${NAME}`.
_ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_OUR_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}")
_ANY_REFERENCE = re.compile(r"\$\{[^}]*\}")


@dataclass
class ClientImport:
    """What one client's servers became."""

    writer: ClientWriter
    path: Path
    imported: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # Switchboard has the same entry under that name
    conflicts: list[str] = field(default_factory=list)  # Switchboard has another entry under that name: kept
    skipped: list[str] = field(default_factory=list)  # sentences: entries Switchboard cannot run or that are itself
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # the client's file could not be read: nothing was taken from it

    def lines(self, config: Path) -> list[str]:
        """What happened, as sentences a person reads."""
        title = self.writer.title
        if self.error is not None:
            return [self.error]
        out = []
        if self.imported:
            out.append(f"Imported from {title}: {', '.join(self.imported)}.")
        if self.duplicates:
            out.append(f"{title}'s {', '.join(self.duplicates)}: already in Switchboard with the same entry (skipped).")
        for name in self.conflicts:
            out.append(
                f"{title}'s '{name}' differs from the '{name}' Switchboard already has; Switchboard's was kept. "
                f"To have both, rename one of them (in {config} or {self.path}) and import again."
            )
        out += self.skipped + self.warnings
        if not out:
            out.append(f"{title} has no servers of its own in {self.path}.")
        return out


@dataclass
class ImportReport:
    config: Path
    clients: list[ClientImport]

    @property
    def imported(self) -> list[str]:
        return [name for c in self.clients for name in c.imported]

    @property
    def failed(self) -> bool:
        return any(c.error is not None for c in self.clients)


def config_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A client's entry (already in Claude Desktop's shape) as Switchboard's config writes it."""
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key in ("env", "headers") and not value:
            continue  # an empty block says nothing; leave the config as short as the user would write it
        out[key] = _env_references(value)
    return out


# What makes a server the same server: what runs (or where it is) and what it is given. Policies, timeouts
# and whether it is enabled are settings around it.
_IDENTITY = ("command", "args", "env", "cwd", "url", "headers", "transport")


def comparable(entry: Any) -> Any:
    """The part of an entry that says which server it is: a duplicate is one that compares equal."""
    if not isinstance(entry, dict):
        return entry
    resolved = config_entry(entry)
    return {key: resolved[key] for key in _IDENTITY if resolved.get(key) not in (None, [], {})}


def _env_references(value: Any) -> Any:
    if isinstance(value, str):
        return _ENV_REFERENCE.sub(r"${\1}", value)
    if isinstance(value, dict):
        return {k: _env_references(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_env_references(v) for v in value]
    return value


def foreign_references(value: Any) -> list[str]:
    """`${...}` that only the client can fill in (`${input:token}`, `${workspaceFolder}`)."""
    if isinstance(value, str):
        return [m.group(0) for m in _ANY_REFERENCE.finditer(value) if not _OUR_REFERENCE.fullmatch(m.group(0))]
    if isinstance(value, dict):
        return [ref for v in value.values() for ref in foreign_references(v)]
    if isinstance(value, list):
        return [ref for v in value for ref in foreign_references(v)]
    return []


def points_at_switchboard(entry: dict[str, Any], gateway_url: str | None, bridge: Sequence[str]) -> bool:
    """Our own entry under another name: importing it would make Switchboard serve itself."""
    url = entry.get("url")
    if isinstance(url, str) and gateway_url:
        mine, theirs = urlsplit(gateway_url), urlsplit(url)
        loopback = ("127.0.0.1", "localhost", "::1")
        if theirs.port == mine.port and theirs.hostname in (*loopback, mine.hostname):
            return True
    args = [str(a) for a in entry.get("args", [])]
    return bool(bridge) and entry.get("command") == bridge[0] and "stdio" in args


def all_members(writer: ClientWriter, where: Where, project: Path | None) -> dict[str, Any]:
    """Every server entry in the client's file, as written (also the ones Switchboard cannot run)."""
    path = writer.config_path(where, project)
    data = read_bytes(path)
    if data is None:
        return {}
    return writer.document(path, decode(path, data)).members(writer.container)


def import_servers(
    store: ConfigStore,
    writers: Sequence[ClientWriter],
    where: Where,
    *,
    project: Path | None = None,
    gateway_url: str | None = None,
    bridge: Sequence[str] = (),
) -> ImportReport:
    """Copy the writers' servers into `store`'s mcpServers. Raises ConfigError when the config cannot be written."""
    found: list[tuple[ClientImport, dict[str, dict[str, Any]]]] = []
    for writer in writers:
        result = ClientImport(writer, writer.config_path(where, project))
        try:
            servers = writer.servers(where, project)
            members = all_members(writer, where, project)
        except ClientError as exc:
            result.error = str(exc)
            found.append((result, {}))
            continue
        wanted: dict[str, dict[str, Any]] = {}
        for name in members:
            entry = servers.get(name)
            if name == ENTRY_NAME:
                continue
            if entry is None:
                result.skipped.append(
                    f"Skipped {writer.title}'s '{name}': it is neither a command nor a URL, "
                    "so Switchboard cannot run it."
                )
            elif points_at_switchboard(entry, gateway_url, bridge):
                result.skipped.append(f"Skipped {writer.title}'s '{name}': it is Switchboard itself.")
            else:
                wanted[name] = config_entry(entry)
        found.append((result, wanted))

    def change(raw: dict[str, Any]) -> None:
        servers = raw.setdefault("mcpServers", {})
        if not isinstance(servers, dict):
            raise ConfigError(store.path, ["mcpServers: must be an object of named servers"])
        for result, wanted in found:
            result.imported, result.duplicates, result.conflicts = [], [], []
            for name, entry in wanted.items():
                if name not in servers:
                    servers[name] = entry
                    result.imported.append(name)
                elif comparable(servers[name]) == comparable(entry):
                    result.duplicates.append(name)
                else:
                    result.conflicts.append(name)

    if any(wanted for _, wanted in found):
        loaded = store.update(change)
        _explain(found, loaded.config.invalid, store.path)
    return ImportReport(store.path, [result for result, _ in found])


Found = list[tuple[ClientImport, dict[str, dict[str, Any]]]]


def _explain(found: Found, invalid: dict[str, str], config: Path) -> None:
    for result, wanted in found:
        for name in result.imported:
            refs = foreign_references(wanted[name])
            if refs:
                result.warnings.append(
                    f"'{name}' uses {', '.join(dict.fromkeys(refs))}, which only {result.writer.title} can fill in; "
                    f"replace it in {config} with ${{VARIABLE}} (read from the environment)."
                )
            elif name in invalid:
                result.warnings.append(f"'{name}' was imported but cannot start yet: {invalid[name]}")

