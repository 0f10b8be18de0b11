"""Config: pydantic models, load/save (atomic), `${VAR}` interpolation."""

from app.config.models import ChildConfig, ClientKey, Config, GatewaySettings, RemoteServer, StdioServer
from app.config.store import ConfigError, LoadedConfig, load, load_or_create, parse, save, with_enabled

__all__ = [
    "ChildConfig",
    "ClientKey",
    "Config",
    "ConfigError",
    "GatewaySettings",
    "LoadedConfig",
    "RemoteServer",
    "StdioServer",
    "load",
    "load_or_create",
    "parse",
    "save",
    "with_enabled",
]
