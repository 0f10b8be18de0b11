"""Which key a request presented, checked in constant time against the keys as they are *now*.

The verifier holds SHA-256 digests only, never a key. `set_main` / `set_client_keys` take effect
on the very next check, and tell subscribers (the auth middleware cuts open streams whose key no
longer verifies). A rotation made by another process (`switchboard rotate-key`) is noticed through
the store's stamp file, one `stat` per check; any other change to the stored key (say, edited in
the keyring by hand) is picked up on a failed check, re-reading the store at most once a second.
Given the config file, per-client keys added or revoked there (`switchboard keys ...`) are picked
up the same way: a `stat` per check, a re-read when it changed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Protocol

from app.config.models import ClientKey
from app.config.store import ConfigError, load
from app.gateway.security.identity import MAIN, KeyIdentity

log = logging.getLogger(__name__)


class MainKeySource(Protocol):
    """Where the main key is kept: `app.secrets.KeyStore` fits."""

    def load(self) -> str | None: ...

    def stamp(self) -> Hashable: ...


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _identity(entry: ClientKey) -> KeyIdentity:
    return KeyIdentity(
        name=entry.name,
        servers=None if entry.servers is None else frozenset(entry.servers),
        tools=None if entry.tools is None else frozenset(entry.tools),
    )


class KeyVerifier:
    def __init__(
        self,
        main_key: str,
        client_keys: Iterable[ClientKey] = (),
        *,
        source: MainKeySource | None = None,
        config_path: Path | None = None,
        reload_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._main = _digest(main_key)
        self._clients: tuple[tuple[bytes, KeyIdentity], ...] = ()
        self._source = source
        self._stamp = source.stamp() if source is not None else None
        self._config_path = config_path
        self._config_stamp = _file_stamp(config_path) if config_path is not None else None
        self._reload_interval = reload_interval
        self._clock = clock
        self._last_reload = clock()
        self._subscribers: list[Callable[[], None]] = []
        self._lock = threading.Lock()  # set_* may come from another thread than the event loop's
        self.set_client_keys(client_keys, notify=False)

    def verify(self, presented: str) -> KeyIdentity | None:
        """The identity `presented` grants, or None. Time does not depend on where a key differs."""
        if not presented:
            return None
        self._check_stamps()
        found = self._match(_digest(presented))
        if found is None and self._reload_on_miss():
            found = self._match(_digest(presented))
        return found

    __call__ = verify

    def set_main(self, key: str) -> None:
        """Make `key` the main key now (after a rotation); the previous one is refused from the next check."""
        with self._lock:
            self._main = _digest(key)
        self._notify()

    def set_client_keys(self, keys: Iterable[ClientKey], *, notify: bool = True) -> None:
        """Replace the per-client keys (after the config changed); revoked ones are refused from the next check."""
        clients = tuple((bytes.fromhex(k.sha256), _identity(k)) for k in keys)
        with self._lock:
            self._clients = clients
        if notify:
            self._notify()

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` (in the changing thread) after every key change. Returns the unsubscribe function."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def refresh(self) -> bool:
        """Re-read the main key from the source; True if it changed."""
        if self._source is None:
            return False
        stamp = self._source.stamp()
        try:
            key = self._source.load()
        except Exception as exc:  # a broken store must not take the gateway down; keep the key we have
            log.warning("Could not re-read the API key (%s); keeping the current one.", type(exc).__name__)
            return False
        self._stamp = stamp
        if key is None or hmac.compare_digest(_digest(key), self._main):
            return False
        log.info("The API key changed in storage; the previous one no longer works.")
        self.set_main(key)
        return True

    # -- internals --------------------------------------------------------------------------

    def _match(self, digest: bytes) -> KeyIdentity | None:
        main, clients = self._main, self._clients
        found = MAIN if hmac.compare_digest(digest, main) else None
        for client_digest, identity in clients:  # every entry is compared: no early exit to time
            if hmac.compare_digest(digest, client_digest) and found is None:
                found = identity
        return found

    def _check_stamps(self) -> None:
        if self._source is not None and self._source.stamp() != self._stamp:
            self._last_reload = self._clock()
            self.refresh()
        if self._config_path is not None:
            stamp = _file_stamp(self._config_path)
            if stamp != self._config_stamp:
                self._config_stamp = stamp
                self._reload_client_keys(self._config_path)

    def _reload_client_keys(self, path: Path) -> None:
        try:
            keys = load(path).config.gateway.client_keys
        except ConfigError:  # a half-edited file: keep the keys we have until it is fixed
            log.warning("The config file cannot be read; keeping the per-client keys loaded before.")
            return
        self.set_client_keys(keys)

    def _reload_on_miss(self) -> bool:
        if self._source is None:
            return False
        now = self._clock()
        if now - self._last_reload < self._reload_interval:
            return False
        self._last_reload = now
        return self.refresh()

    def _notify(self) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback()
            except Exception:
                log.exception("A key-change subscriber failed")
