"""VS Code (Copilot agent mode): user Code/User/mcp.json or PROJECT/.vscode/mcp.json, `servers` with a `type`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import Entry, Where
from .writer import ClientWriter


def vscode_user_dir(where: Where) -> Path:
    """VS Code's User folder: ~/.config/Code/User, ~/Library/Application Support/Code/User, %APPDATA%\\Code\\User."""
    return where.app_config("Code", "Code", "Code") / "User"


class VsCode(ClientWriter):
    id = "vscode"
    title = "VS Code"
    container = ("servers",)
    project_file = ".vscode/mcp.json"

    def user_path(self, where: Where) -> Path:
        return vscode_user_dir(where) / "mcp.json"

    def installed(self, where: Where) -> tuple[bool, str]:
        return where.found(vscode_user_dir(where), commands=("code",))

    def http_entry(self, entry: Entry) -> dict[str, Any]:
        return {"type": "http", **super().http_entry(entry)}

    def stdio_entry(self, entry: Entry) -> dict[str, Any]:
        return {"type": "stdio", **super().stdio_entry(entry)}
