"""Config: the file's models, its one store (reader, watcher, locked atomic writer), `${VAR}` interpolation."""

from app.config.models import (
    ChildConfig,
    ClientKey,
    Config,
    ConfigError,
    GatewaySettings,
    LoadedConfig,
    OAuthClient,
    RemoteServer,
    StdioServer,
)
from app.config.parsing import parse
from app.config.store import ConfigChanged, ConfigStore, default_raw, read, save
from app.config.watcher import FileWatcher

__all__ = [
    "ChildConfig",
    "ClientKey",
    "Config",
    "ConfigChanged",
    "ConfigError",
    "ConfigStore",
    "FileWatcher",
    "GatewaySettings",
    "LoadedConfig",
    "OAuthClient",
    "RemoteServer",
    "StdioServer",
    "default_raw",
    "parse",
    "read",
    "save",
]
