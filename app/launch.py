"""The composition root: builds the typed services every entry point runs on (serve, the tray, the daemon).

It is the one place that knows both the filesystem layout and the gateway: it opens the config store
(creating the first-run default), the main key's store, the key verifier and the gateway behind its
guard, and wires their changes together off the gateway's loop:
- the config store's changes → the verifier's per-client keys (the gateway follows the store itself);
- the key store's stamp file (a rotation by another process) → a re-read in the watcher's thread → the
  verifier's main key;
- the OAuth token store (remote servers' sign-ins) → the gateway, which reads it off its loop; a sign-in
  made by another process (`switchboard login`) reaches it through its credentials admin route.
So checking a key on a request never touches a file or the keyring.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import paths
from app.config import ConfigChanged, ConfigStore, FileWatcher, default_raw
from app.secrets import KeyLocation, KeyStore, KeyStoreError, OAuthTokenStore

if TYPE_CHECKING:  # the gateway (the SDK, uvicorn) is imported only by what runs one, not by `keys list`
    from app.config.models import GatewaySettings
    from app.gateway import Gateway, KeyVerifier, Observability, SqliteHistory
    from app.prestart import Prestarted

HISTORY_NAME = "history.sqlite3"

log = logging.getLogger(__name__)


class MainKey:
    """The main API key: where it is kept, and the verifier that checks it, so a rotation applies at once.
    Every method does blocking I/O (keyring, files): call it off any event loop."""

    def __init__(self, store: KeyStore, verifier: KeyVerifier) -> None:
        self.store = store
        self.verifier = verifier

    def value(self) -> str:
        return self.store.load_or_create()

    def rotate(self) -> str:
        """A new key; the old one is refused from the next request on, open streams included."""
        key = self.store.rotate()
        self.verifier.set_main(key)
        return key

    def location(self) -> KeyLocation:
        return self.store.location()

    def reread(self) -> None:
        """Another process may have rotated the key: publish what the store holds now."""
        try:
            key = self.store.load()
        except KeyStoreError as exc:
            log.warning("Could not re-read the API key (%s); keeping the current one.", exc)
            return
        if key is not None:
            self.verifier.set_main(key)


@dataclass(frozen=True)
class Services:
    config: ConfigStore
    main_key: MainKey
    verifier: KeyVerifier
    gateway: Gateway
    watcher: FileWatcher
    log_dir: Path
    observability: Observability | None = None
    history: SqliteHistory | None = None  # None: history off (gateway.history) or its file unusable
    history_error: str | None = None  # why the history file could not be opened, as a sentence

    def close(self) -> None:
        """Blocking (the history's last batch is committed): call it off any event loop, after the gateway stopped."""
        self.watcher.stop()
        if self.observability is not None:
            self.observability.close()
        if self.history is not None:
            self.history.close()


def history_path() -> Path:
    """Where the call history lives: the state dir (the `history` verb reads it there too)."""
    return paths.state_dir() / HISTORY_NAME


def open_history(settings: GatewaySettings) -> tuple[SqliteHistory | None, str | None]:
    """The history store as configured, or (None, why) when it is off or its file cannot be used; the
    gateway runs either way. Disk I/O: not on an event loop."""
    from app.gateway import HistoryError, SqliteHistory

    if not settings.history:
        return None, None
    try:
        store = SqliteHistory(
            history_path(), max_age_days=settings.history_max_age_days, max_bytes=settings.history_max_mb * 1024 * 1024
        )
    except HistoryError as exc:
        log.warning("%s; calls are not recorded this run", exc)
        return None, str(exc)
    return store, None


def link_keys(store: ConfigStore, main_key: MainKey, history: SqliteHistory | None = None) -> FileWatcher:
    """Keep the verifier current, off every event loop: per-client keys from the config store's changes,
    the main key from the key store's stamp file (another process rotated it). Returns the started watcher
    that follows the config file and the stamp."""

    def on_config(event: ConfigChanged) -> None:
        if event.error is None:
            main_key.verifier.set_client_keys(event.loaded.config.gateway.client_keys)
            if history is not None:  # retention follows the file at once; on/off waits for a restart
                settings = event.loaded.config.gateway
                history.max_age_s = settings.history_max_age_days * 86400.0
                history.max_bytes = max(1024 * 1024, settings.history_max_mb * 1024 * 1024)

    store.subscribe(on_config)
    watcher = FileWatcher()
    store.watch(watcher)
    watcher.watch(main_key.store.stamp_path, main_key.reread)
    watcher.start()
    return watcher


def config_store(config_path: Path | None, *, host: str | None = None, port: int | None = None) -> ConfigStore:
    """The store of the user's config file (the default one unless given); `host`/`port` apply to this run
    only, as does SWITCHBOARD_PORT from the environment (containers, scripts) when no port is given."""
    overrides: dict[str, Any] = {}
    env_port = os.environ.get("SWITCHBOARD_PORT", "").strip()
    if port is None and env_port.isdigit():
        port = int(env_port)
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    return ConfigStore(
        config_path or paths.default_config_path(),
        default=lambda: default_raw(paths.self_command()),
        overrides=overrides,
    )


def build_services(
    config_path: Path | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    guard: Callable[[Any], Any] | None = None,
    store: ConfigStore | None = None,
    prestarted: Mapping[str, Prestarted] | None = None,
) -> Services:
    """The gateway as users run it: every route but /health behind the API key and Host/Origin checks.

    `guard`: tests may pass `app.gateway.open_access` explicitly. `store`: the config's store, when it is
    open already (then `config_path`, `host`, `port` are its own); `prestarted`: stdio servers spawned
    before the gateway's imports (app/prestart.py). Raises ConfigError or KeyStoreError, whose messages are
    sentences for the user.
    """
    from app.gateway import Gateway, GuardMiddleware, KeyVerifier, Observability

    store = store or config_store(config_path, host=host, port=port)
    loaded = store.open()
    keys = KeyStore(loaded.path.parent)
    verifier = KeyVerifier(keys.load_or_create(), loaded.config.gateway.client_keys)
    main_key = MainKey(keys, verifier)
    history, history_error = open_history(loaded.config.gateway)

    watcher = link_keys(store, main_key, history)

    def public_paths() -> tuple[str, ...]:
        return ("/health", "/metrics") if store.config.gateway.metrics_public else ("/health",)

    def guarded(app: Any) -> Any:
        return GuardMiddleware(
            app,
            verify=verifier.verify,
            subscribe=verifier.subscribe,
            allowed_hosts=lambda: store.config.gateway.accepted_hosts(),
            allowed_origins=lambda: store.config.gateway.allowed_origins,
            public_paths=public_paths,
        )

    # Remote servers' sign-ins: the keyring (or 0600 files) beside the main key, handed over as a value.
    tokens = OAuthTokenStore(loaded.path.parent)
    gateway = Gateway(store, log_dir=paths.log_dir(), guard=guard or guarded, tokens=tokens, prestarted=prestarted)
    observability = Observability(gateway, history)
    verifier.on_key_event(observability.key_event)
    return Services(
        store, main_key, verifier, gateway, watcher, paths.log_dir(), observability, history, history_error
    )
