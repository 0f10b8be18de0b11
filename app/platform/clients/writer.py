"""The one interface every AI client's writer has, and the read-edit-write cycle they share.

A client module says only what differs: where its file is, how it spells an entry, how its entries map
to Claude Desktop's shape, and whether it is installed. Reading, the no-op check, backups, the atomic
write and the re-read that catches a client rewriting its file under us live here, once.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from .document import Container, ServerDocument, find_block, nest
from .json_document import JsonDocument
from .model import Change, ClientFileError, Entry, EntryError, Where
from .safe_write import backup_paths, decode, read_bytes, write_atomically, write_backup

Status = Literal["connected", "not connected", "no config file"]

# Keys a writer may own in an entry; anything else a client or the user added (Cline's autoApprove,
# Gemini's trust, a timeout) stays when Switchboard rewrites its entry.
TRANSPORT_KEYS = frozenset(
    {"type", "transport", "command", "args", "env", "cwd", "url", "headers", "serverUrl", "httpUrl", "http_headers"}
)


class ClientWriter(ABC):
    id: str
    title: str
    http: bool = True  # takes a URL entry (Streamable HTTP)
    tool_cap: int | None = None  # the client uses only about this many tools
    restart_note: str = ""
    container: Container = ("mcpServers",)
    project_file: str | None = None  # e.g. ".cursor/mcp.json": the file inside a project folder

    # -- what each client says -------------------------------------------------------------------------

    @abstractmethod
    def user_path(self, where: Where) -> Path:
        """The client's user-level (global) config file."""

    @abstractmethod
    def installed(self, where: Where) -> tuple[bool, str]:
        """Whether the client seems to be on this machine, and the sign found (or what was looked for)."""

    def http_entry(self, entry: Entry) -> dict[str, Any]:
        assert entry.url is not None
        native: dict[str, Any] = {"url": entry.url}
        if entry.headers:
            native["headers"] = dict(entry.headers)
        return native

    def stdio_entry(self, entry: Entry) -> dict[str, Any]:
        assert entry.command is not None
        return {"command": entry.command, "args": list(entry.args)}

    def to_desktop(self, raw: Any) -> dict[str, Any] | None:
        """One of the client's entries in Claude Desktop's shape; None for what Switchboard cannot run."""
        return standard_to_desktop(raw)

    def document(self, path: Path, text: str) -> ServerDocument:
        return JsonDocument(path, text)

    def drops_empty_block(self, path: Path) -> bool:
        """Whether to remove the server block once its last entry goes: only if the user's original had none.

        The first backup is the file as it was before Switchboard wrote to it; a file Switchboard created
        keeps the minimal shape the client wants.
        """
        backups = backup_paths(path)
        if not backups:
            return False
        try:
            original = self.document(backups[0], decode(backups[0], backups[0].read_bytes()))
            block, _ = find_block(original.value, self.container)
        except (ClientFileError, OSError, TypeError):
            return False
        return block is None

    # -- the interface -------------------------------------------------------------------------------------

    def config_path(self, where: Where, project: Path | None = None) -> Path:
        if project is None:
            return self.user_path(where)
        if self.project_file is None:
            raise EntryError(f"{self.title} has no per-project config file; connect it without a project folder.")
        return Path(project) / self.project_file

    def native(self, entry: Entry) -> dict[str, Any]:
        """The entry in this client's own shape: a URL entry where it takes one, else the stdio command."""
        if self.http and entry.url:
            return self.http_entry(entry)
        if entry.command:
            return self.stdio_entry(entry)
        if entry.url:
            raise EntryError(
                f"{self.title} takes only stdio servers; connect it through the bridge (an entry with a command)."
            )
        raise EntryError(f"The entry {entry.name!r} has neither a URL nor a command; give it one of them.")

    def servers(self, where: Where, project: Path | None = None) -> dict[str, dict[str, Any]]:
        path = self.config_path(where, project)
        data = read_bytes(path)
        if data is None:
            return {}
        members = self.document(path, decode(path, data)).members(self.container)
        imported = {}
        for name, raw in members.items():
            converted = self.to_desktop(raw)
            if converted is not None:
                imported[name] = converted
        return imported

    def status(self, where: Where, entry_name: str, project: Path | None = None) -> Status:
        path = self.config_path(where, project)
        data = read_bytes(path)
        if data is None:
            return "no config file"
        members = self.document(path, decode(path, data)).members(self.container)
        return "connected" if entry_name in members else "not connected"

    def connect(self, where: Where, entry: Entry, *, project: Path | None = None, replace: bool = False) -> Change:
        wanted = self.native(entry)

        def edit(doc: ServerDocument, path: Path) -> tuple[str | None, tuple[str, ...]]:
            members = doc.members(self.container)
            current = members.get(entry.name)
            desired = dict(wanted)
            if isinstance(current, dict):  # keep what the client or the user added to our entry
                desired.update({k: v for k, v in current.items() if k not in TRANSPORT_KEYS and k not in wanted})
            others = tuple(n for n in members if n != entry.name) if replace else ()
            if current == desired and not others:
                return None, ()
            if others:
                return doc.with_only(self.container, entry.name, desired), others
            return doc.with_member(self.container, entry.name, desired), ()

        return self._rewrite(where, project, edit)

    def disconnect(self, where: Where, entry_name: str, *, project: Path | None = None) -> Change:
        def edit(doc: ServerDocument, path: Path) -> tuple[str | None, tuple[str, ...]]:
            if entry_name not in doc.members(self.container):
                return None, ()
            drop = self.drops_empty_block(path)
            return doc.without_member(self.container, entry_name, drop_empty=drop), ()

        return self._rewrite(where, project, edit, create=False)

    def snippet(self, entry: Entry) -> str:
        """What a user pastes into the file by hand."""
        return json.dumps(nest(self.container, {entry.name: self.native(entry)}), indent=2) + "\n"

    # -- the shared cycle ----------------------------------------------------------------------------------

    def _rewrite(
        self,
        where: Where,
        project: Path | None,
        edit: Callable[[ServerDocument, Path], tuple[str | None, tuple[str, ...]]],
        *,
        create: bool = True,
    ) -> Change:
        path = self.config_path(where, project)
        for _attempt in range(3):
            before = read_bytes(path)
            if before is None and not create:
                return Change(path, False, None)
            doc = self.document(path, decode(path, before))
            new_text, removed = edit(doc, path)
            data = None if new_text is None else new_text.encode("utf-8")
            if data is None or data == before:
                return Change(path, False, _latest(backup_paths(path)))
            if read_bytes(path) != before:
                continue  # the client rewrote its file while we worked: start again from its new text
            try:
                backup = self._keep_backup(path, before, removed)
                write_atomically(path, data)
            except OSError as exc:  # a read-only folder, a full disk, a file Windows holds open
                raise ClientFileError(
                    f"{path} could not be written ({exc.strerror or exc}); close {self.title}, check the folder "
                    "is writable and try again. The file is unchanged."
                ) from None
            return Change(path, True, backup, removed)
        raise ClientFileError(
            f"{path} kept changing while Switchboard was writing it; quit {self.title} and try again."
        )

    def _keep_backup(self, path: Path, before: bytes | None, removed: tuple[str, ...]) -> Path | None:
        """The first write keeps the original; a replace also keeps the servers it removes, if no backup has them."""
        existing = backup_paths(path)
        if before is None:
            return _latest(existing)  # a new file: nothing of the user's to keep
        if not existing:
            return write_backup(path, before)
        if removed:
            holder = self._holder(existing, removed, path, before)
            return holder if holder is not None else write_backup(path, before)
        return existing[0]

    def _holder(self, backups: list[Path], removed: tuple[str, ...], path: Path, before: bytes) -> Path | None:
        now = self.document(path, decode(path, before)).members(self.container)
        for backup in backups:
            try:
                kept = self.document(backup, decode(backup, backup.read_bytes())).members(self.container)
            except (ClientFileError, OSError):
                continue
            if all(kept.get(name) == now[name] for name in removed):
                return backup
        return None


def _latest(backups: list[Path]) -> Path | None:
    return backups[0] if backups else None


# -- converting entries to Claude Desktop's shape ------------------------------------------------------------


def desktop_stdio(raw: dict[str, Any], command: Any = None) -> dict[str, Any] | None:
    command = raw.get("command") if command is None else command
    args = raw.get("args", [])
    env = raw.get("env", {})
    if not isinstance(command, str) or not isinstance(args, list) or not isinstance(env, dict):
        return None
    out: dict[str, Any] = {"command": command, "args": [str(a) for a in args], "env": dict(env)}
    if isinstance(raw.get("cwd"), str):
        out["cwd"] = raw["cwd"]
    return out


def desktop_http(url: Any, headers: Any, *, sse: bool = False) -> dict[str, Any] | None:
    if not isinstance(url, str):
        return None
    out: dict[str, Any] = {"url": url, "headers": dict(headers) if isinstance(headers, dict) else {}}
    if sse:
        out["transport"] = "sse"
    return out


def standard_to_desktop(raw: Any, *, untyped_url_is_sse: bool = False) -> dict[str, Any] | None:
    """The shape most clients share: `command`/`args`/`env`, or `url`/`headers` with an optional `type`."""
    if not isinstance(raw, dict):
        return None
    kind = str(raw.get("type", raw.get("transport", ""))).lower()
    if isinstance(raw.get("command"), str) and kind in ("", "stdio"):
        out = desktop_stdio(raw)
    elif "url" in raw:
        sse = kind == "sse" or (kind == "" and untyped_url_is_sse)
        out = desktop_http(raw["url"], raw.get("headers"), sse=sse)
    else:
        return None
    if out is not None and (raw.get("disabled") is True or raw.get("enabled") is False):
        out["enabled"] = False
    return out
