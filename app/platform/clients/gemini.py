"""Gemini CLI: ~/.gemini/settings.json (its whole settings file); Streamable HTTP is `httpUrl`, `url` means SSE."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import Entry, Where
from .writer import ClientWriter, desktop_http, standard_to_desktop


class Gemini(ClientWriter):
    id = "gemini"
    title = "Gemini CLI"
    restart_note = "Start a new Gemini CLI session to see the change."
    project_file = ".gemini/settings.json"

    def user_path(self, where: Where) -> Path:
        return where.home / ".gemini" / "settings.json"

    def installed(self, where: Where) -> tuple[bool, str]:
        return where.found(where.home / ".gemini", commands=("gemini",))

    def http_entry(self, entry: Entry) -> dict[str, Any]:
        native = super().http_entry(entry)
        return {"httpUrl": native.pop("url"), **native}

    def to_desktop(self, raw: Any) -> dict[str, Any] | None:
        if isinstance(raw, dict) and "command" not in raw:
            if "httpUrl" in raw:
                return desktop_http(raw["httpUrl"], raw.get("headers"))
            if "url" in raw:
                return desktop_http(raw["url"], raw.get("headers"), sse=True)
        return standard_to_desktop(raw)
