"""Cursor: ~/.cursor/mcp.json or PROJECT/.cursor/mcp.json; a remote entry is just `url` (+ `headers`)."""

from __future__ import annotations

from pathlib import Path

from .model import Where
from .writer import ClientWriter


class Cursor(ClientWriter):
    id = "cursor"
    title = "Cursor"
    tool_cap = 40  # Cursor sends only its first ~40 tools to the model
    project_file = ".cursor/mcp.json"

    def user_path(self, where: Where) -> Path:
        return where.home / ".cursor" / "mcp.json"

    def installed(self, where: Where) -> tuple[bool, str]:
        return where.found(where.home / ".cursor", commands=("cursor",))
