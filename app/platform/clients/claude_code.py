"""Claude Code: user scope in ~/.claude.json (a big, app-owned file), project scope in DIR/.mcp.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import Entry, Where
from .writer import ClientWriter


class ClaudeCode(ClientWriter):
    id = "claude-code"
    title = "Claude Code"
    restart_note = "Start a new Claude Code session to see the change."
    project_file = ".mcp.json"

    def user_path(self, where: Where) -> Path:
        # CLAUDE_CONFIG_DIR moves the whole config, ~/.claude.json included.
        folder = where.env.get("CLAUDE_CONFIG_DIR")
        return (Path(folder) if folder else where.home) / ".claude.json"

    def installed(self, where: Where) -> tuple[bool, str]:
        return where.found(self.user_path(where), where.home / ".claude", commands=("claude",))

    def http_entry(self, entry: Entry) -> dict[str, Any]:
        return {"type": "http", **super().http_entry(entry)}

    def stdio_entry(self, entry: Entry) -> dict[str, Any]:
        return {"type": "stdio", **super().stdio_entry(entry)}
