"""Zed: `context_servers` in its settings.json (JSON with comments, the editor's whole settings file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import Where
from .writer import ClientWriter, desktop_stdio, standard_to_desktop


class Zed(ClientWriter):
    id = "zed"
    title = "Zed"
    container = ("context_servers",)

    def user_path(self, where: Where) -> Path:
        if where.system == "win32":
            return where.appdata() / "Zed" / "settings.json"
        if where.system == "darwin":
            return where.home / ".config" / "zed" / "settings.json"  # Zed uses ~/.config on macOS too
        return where.xdg_config() / "zed" / "settings.json"

    def installed(self, where: Where) -> tuple[bool, str]:
        return where.found(self.user_path(where).parent, commands=("zed", "zeditor"))

    def to_desktop(self, raw: Any) -> dict[str, Any] | None:
        # Older Zed nested the command: {"command": {"path", "args", "env"}}; extension servers have neither.
        if isinstance(raw, dict) and isinstance(raw.get("command"), dict):
            nested = raw["command"]
            out = desktop_stdio(nested, nested.get("path"))
            if out is not None and raw.get("enabled") is False:
                out["enabled"] = False
            return out
        return standard_to_desktop(raw)
