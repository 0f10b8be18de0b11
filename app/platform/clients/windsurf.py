"""Windsurf: ~/.codeium/windsurf/mcp_config.json; a remote entry is `serverUrl` (a Cursor `url` does not connect)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import Entry, Where
from .writer import ClientWriter, standard_to_desktop


class Windsurf(ClientWriter):
    id = "windsurf"
    title = "Windsurf"
    tool_cap = 50  # Cascade uses at most ~50 tools at once
    restart_note = "Press Refresh in Windsurf's MCP panel to see the change."

    def user_path(self, where: Where) -> Path:
        return where.home / ".codeium" / "windsurf" / "mcp_config.json"

    def installed(self, where: Where) -> tuple[bool, str]:
        return where.found(where.home / ".codeium" / "windsurf", commands=("windsurf",))

    def http_entry(self, entry: Entry) -> dict[str, Any]:
        native = super().http_entry(entry)
        return {"serverUrl": native.pop("url"), **native}

    def to_desktop(self, raw: Any) -> dict[str, Any] | None:
        if isinstance(raw, dict) and "serverUrl" in raw and "url" not in raw:
            raw = {**{k: v for k, v in raw.items() if k != "serverUrl"}, "url": raw["serverUrl"]}
        return standard_to_desktop(raw)
