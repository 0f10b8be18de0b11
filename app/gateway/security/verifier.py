"""Which key a request presented, checked in constant time against the keys as they are *now*.

The verifier holds SHA-256 digests only, never a key, and does no I/O: checking a key never reads
the keyring or a file (a Keychain prompt or a locked Secret Service would freeze every client).
Whoever owns the keys publishes them here — the composition root, when the config store reports new
per-client keys and when the key store's stamp says the main key was rotated — and `set_main` /
`set_client_keys` take effect on the very next check, and tell subscribers (the guard cuts open
streams whose key no longer verifies).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable, Iterable

from app.config.models import ClientKey
from app.gateway.security.identity import MAIN, KeyIdentity

log = logging.getLogger(__name__)
KeyListener = Callable[[str, str], None]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def identity_of_key(entry: ClientKey) -> KeyIdentity:
    return KeyIdentity(
        name=entry.name,
        servers=None if entry.servers is None else frozenset(entry.servers),
        tools=None if entry.tools is None else frozenset(entry.tools),
        tool_servers_content=entry.tool_servers_content,
    )


class KeyVerifier:
    def __init__(self, main_key: str, client_keys: Iterable[ClientKey] = ()) -> None:
        self._main = _digest(main_key)
        self._clients: tuple[tuple[bytes, KeyIdentity], ...] = ()
        self._subscribers: list[Callable[[], None]] = []
        self._key_listeners: list[KeyListener] = []
        self._lock = threading.Lock()  # set_* come from other threads than the event loop's
        self.set_client_keys(client_keys, notify=False)

    def verify(self, presented: str) -> KeyIdentity | None:
        """The identity `presented` grants, or None. Time does not depend on where a key differs."""
        if not presented:
            return None
        digest = _digest(presented)
        main, clients = self._main, self._clients
        found = MAIN if hmac.compare_digest(digest, main) else None
        for client_digest, identity in clients:  # every entry is compared: no early exit to time
            if hmac.compare_digest(digest, client_digest) and found is None:
                found = identity
        return found

    __call__ = verify

    def set_main(self, key: str) -> None:
        """Make `key` the main key now (after a rotation); the previous one is refused from the next check."""
        digest = _digest(key)
        with self._lock:
            if hmac.compare_digest(digest, self._main):
                return
            self._main = digest
        self._notify()
        self._tell("key_rotated", MAIN.name)

    def set_client_keys(self, keys: Iterable[ClientKey], *, notify: bool = True) -> None:
        """Replace the per-client keys (after the config changed); revoked ones are refused from the next check."""
        clients = tuple((bytes.fromhex(k.sha256), identity_of_key(k)) for k in keys)
        with self._lock:
            if clients == self._clients:
                return
            before = {identity.name: (d, identity) for d, identity in self._clients}
            self._clients = clients
        if notify:
            self._notify()
            after = {identity.name: (d, identity) for d, identity in clients}
            for name in sorted(after.keys() - before.keys()):
                self._tell("key_added", name)
            for name in sorted(before.keys() - after.keys()):
                self._tell("key_revoked", name)
            for name in sorted(before.keys() & after.keys()):
                if before[name] != after[name]:
                    self._tell("key_changed", name)

    def on_key_event(self, listener: KeyListener) -> Callable[[], None]:
        """`listener(kind, name)` after each change: key_rotated (the main key), key_added, key_revoked,
        key_changed (a per-client key's digest or limits). Names only, never a key. Runs in the changing thread."""
        with self._lock:
            self._key_listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._key_listeners:
                    self._key_listeners.remove(listener)

        return unsubscribe

    def _tell(self, kind: str, name: str) -> None:
        with self._lock:
            listeners = list(self._key_listeners)
        for listener in listeners:
            try:
                listener(kind, name)
            except Exception:
                log.exception("A key-event listener failed")

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` (in the changing thread) after every key change. Returns the unsubscribe function."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _notify(self) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback()
            except Exception:
                log.exception("A key-change subscriber failed")
