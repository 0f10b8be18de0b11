"""Cline (the VS Code extension): cline_mcp_settings.json in VS Code's globalStorage, `type: streamableHttp`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import Entry, Where
from .vscode import vscode_user_dir
from .writer import ClientWriter, standard_to_desktop

EXTENSION = "saoudrizwan.claude-dev"


class Cline(ClientWriter):
    id = "cline"
    title = "Cline"

    def storage(self, where: Where) -> Path:
        return vscode_user_dir(where) / "globalStorage" / EXTENSION

    def user_path(self, where: Where) -> Path:
        return self.storage(where) / "settings" / "cline_mcp_settings.json"

    def installed(self, where: Where) -> tuple[bool, str]:
        return where.found(self.storage(where))

    def http_entry(self, entry: Entry) -> dict[str, Any]:
        return {"type": "streamableHttp", **super().http_entry(entry)}

    def stdio_entry(self, entry: Entry) -> dict[str, Any]:
        return {"type": "stdio", **super().stdio_entry(entry)}

    def to_desktop(self, raw: Any) -> dict[str, Any] | None:
        # Before `type` existed a bare `url` meant SSE, and Cline still reads it that way.
        return standard_to_desktop(raw, untyped_url_is_sse=True)
