"""What the gateway needs of the config store, as a protocol: the gateway never reads or writes the
file itself (app/config/store.py does, under its lock)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from app.config.models import ConfigChanged, ConfigError, LoadedConfig


class ConfigSource(Protocol):
    """What the gateway needs of the config store: the config in force, its problems, its changes."""

    path: Path

    @property
    def current(self) -> LoadedConfig: ...

    @property
    def error(self) -> ConfigError | None: ...

    def subscribe(self, listener: Callable[[ConfigChanged], None]) -> Callable[[], None]: ...

    def set_enabled(self, name: str, enabled: bool) -> LoadedConfig: ...

    def update(self, change: Callable[[dict[str, Any]], None]) -> LoadedConfig: ...
