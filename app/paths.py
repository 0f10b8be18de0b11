"""Where Switchboard keeps things: platformdirs locations, and resources that work frozen and from source."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "Switchboard"


def _override(var: str) -> Path | None:
    """SWITCHBOARD_HOME puts every location under one folder (tests, portable installs)."""
    home = os.environ.get("SWITCHBOARD_HOME")
    return Path(home) / var if home else None


def config_dir() -> Path:
    return _override("config") or Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    return _override("logs") or Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    return _override("state") or Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    return config_dir() / "config.json"


def resources_dir() -> Path:
    """`resources/` beside the package from source; inside the bundle when frozen by PyInstaller."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource(name: str) -> Path:
    return resources_dir() / name


def self_command() -> list[str]:
    """The argv that runs this very Switchboard (used for the embedded demo child)."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "app"]
