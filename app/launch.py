"""Puts a Gateway together from the user's files: config (created on first run), API keys, the guard.

Shared by `switchboard serve` and the tray app, so both serve exactly the same thing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app import paths
from app.config import GatewaySettings, LoadedConfig, load_or_create, parse
from app.gateway.runtime import Gateway
from app.gateway.security.guard import GuardMiddleware
from app.gateway.security.verifier import KeyVerifier
from app.secrets import KeyStore


def load_config(config_path: Path | None, *, host: str | None = None, port: int | None = None) -> LoadedConfig:
    path = config_path or paths.default_config_path()
    loaded = load_or_create(path, paths.self_command())
    if host is None and port is None:
        return loaded
    # Command-line overrides apply to this run only; the file is left as it is.
    gateway = dict(loaded.raw.get("gateway") or {})
    if host is not None:
        gateway["host"] = host
    if port is not None:
        gateway["port"] = port
    return LoadedConfig(loaded.path, loaded.raw, parse({**loaded.raw, "gateway": gateway}, loaded.path))


class MainKey:
    """The main API key: where it is kept, and the verifier that checks it, so a rotation applies at once."""

    def __init__(self, store: KeyStore, verifier: KeyVerifier) -> None:
        self.store = store
        self.verifier = verifier

    def load_or_create(self) -> str:
        return self.store.load_or_create()

    def rotate(self) -> str:
        """A new key; the old one is refused from the next request on, open streams included."""
        key = self.store.rotate()
        self.verifier.set_main(key)
        return key

    def location(self) -> str:
        return self.store.location()


def build_gateway(config_path: Path | None, *, host: str | None = None, port: int | None = None) -> Gateway:
    """The gateway as users run it: every route but /health behind the API key and Host/Origin checks.

    Raises ConfigError or KeyStoreError, whose messages are sentences for the user.
    """
    loaded = load_config(config_path, host=host, port=port)
    store = KeyStore(loaded.path.parent)
    verifier = KeyVerifier(
        store.load_or_create(), loaded.config.gateway.client_keys, source=store, config_path=loaded.path
    )
    gateway: Gateway

    def settings() -> GatewaySettings:
        return gateway.loaded.config.gateway  # the live config: edits on disk apply without a restart

    def guard(app: Any) -> Any:
        return GuardMiddleware(
            app,
            verify=verifier.verify,
            subscribe=verifier.subscribe,
            allowed_hosts=lambda: [settings().host] if settings().allow_non_loopback else [],
            allowed_origins=lambda: settings().allowed_origins,
        )

    gateway = Gateway(loaded, log_dir=paths.log_dir(), guard=guard)
    gateway.main_key = MainKey(store, verifier)
    return gateway
