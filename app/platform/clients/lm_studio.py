"""LM Studio: ~/.lmstudio/mcp.json in Cursor's notation (its docs say so)."""

from __future__ import annotations

from pathlib import Path

from .model import Where
from .writer import ClientWriter


class LmStudio(ClientWriter):
    id = "lm-studio"
    title = "LM Studio"

    def user_path(self, where: Where) -> Path:
        return where.home / ".lmstudio" / "mcp.json"

    def installed(self, where: Where) -> tuple[bool, str]:
        return where.found(where.home / ".lmstudio", commands=("lms",))
