"""Codex CLI: `[mcp_servers.NAME]` tables in ~/.codex/config.toml (or $CODEX_HOME), edited with tomlkit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .document import ServerDocument
from .model import Entry, Where
from .toml_document import TomlDocument, render_table
from .writer import ClientWriter, desktop_http, desktop_stdio


class Codex(ClientWriter):
    id = "codex"
    title = "Codex CLI"
    restart_note = "Start a new Codex session to see the change."
    container = ("mcp_servers",)

    def home(self, where: Where) -> Path:
        folder = where.env.get("CODEX_HOME")
        return Path(folder) if folder else where.home / ".codex"

    def user_path(self, where: Where) -> Path:
        return self.home(where) / "config.toml"

    def installed(self, where: Where) -> tuple[bool, str]:
        return where.found(self.home(where), commands=("codex",))

    def document(self, path: Path, text: str) -> ServerDocument:
        return TomlDocument(path, text)

    def http_entry(self, entry: Entry) -> dict[str, Any]:
        assert entry.url is not None
        native: dict[str, Any] = {"url": entry.url}
        if entry.headers:
            native["http_headers"] = dict(entry.headers)  # Codex ignores a `headers` key
        return native

    def to_desktop(self, raw: Any) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            return None
        if isinstance(raw.get("command"), str):
            out = desktop_stdio(raw)
        elif "url" in raw:
            # Codex names header values by env var; Switchboard's config spells that ${VAR}.
            headers = dict(raw.get("http_headers") or {})
            for header, var in (raw.get("env_http_headers") or {}).items():
                headers[header] = "${" + str(var) + "}"
            if isinstance(raw.get("bearer_token_env_var"), str):
                headers["Authorization"] = "Bearer ${" + raw["bearer_token_env_var"] + "}"
            out = desktop_http(raw["url"], headers)
        else:
            return None
        if out is not None and raw.get("enabled") is False:
            out["enabled"] = False
        return out

    def snippet(self, entry: Entry) -> str:
        return render_table((*self.container, entry.name), self.native(entry))
