"""Puts a Gateway together from the user's files: config (created on first run), API keys, the guard.

Shared by `switchboard serve` and the tray app, so both serve exactly the same thing.
"""

from __future__ import annotations

from pathlib import Path

from app import paths
from app.config import LoadedConfig, load_or_create, parse
from app.gateway.runtime import Gateway


def load_config(config_path: Path | None, *, host: str | None = None, port: int | None = None) -> LoadedConfig:
    path = config_path or paths.default_config_path()
    loaded = load_or_create(path, paths.self_command())
    if host is None and port is None:
        return loaded
    # Command-line overrides apply to this run only; the file is left as it is.
    raw = dict(loaded.raw)
    gateway = dict(raw.get("gateway") or {})
    if host is not None:
        gateway["host"] = host
    if port is not None:
        gateway["port"] = port
    return LoadedConfig(loaded.path, loaded.raw, parse({**raw, "gateway": gateway}, loaded.path))


def build_gateway(config_path: Path | None, *, host: str | None = None, port: int | None = None) -> Gateway:
    loaded = load_config(config_path, host=host, port=port)
    return Gateway(loaded, log_dir=paths.log_dir())
