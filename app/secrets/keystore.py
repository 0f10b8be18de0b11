"""The main API key: made on first use, kept in the OS keyring, or in a 0600 file when no keyring works.

Where it lives is decided on each write: the keyring if it takes the key (and gives it back), else
the file. On read the file wins, since it only exists when the keyring failed last time (a write
that reaches the keyring deletes it). Every write also replaces a small stamp file, which holds no
secret, so that a running gateway's file watcher notices a rotation made by another process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import keyring.backend

from app.secrets.private_store import SERVICE, keyring_keeps, usable_backend, write_private

log = logging.getLogger(__name__)

USERNAME = "api-key"
FILE_NAME = "api-key"
STAMP_NAME = "api-key.changed"
KEPT_PREFIX = "client-key:"
KEPT_DIR = "kept-keys"


@dataclass(frozen=True)
class KeyLocation:
    """Where the main key is kept: the system keyring, or a file readable only by its owner."""

    in_keyring: bool
    path: Path | None = None  # the fallback file, when that is where it is

    def __str__(self) -> str:
        if self.in_keyring:
            return "stored in the system keyring"
        return f"stored in a file readable only by you: {self.path}"


class KeyStoreError(Exception):
    """The key can be neither read nor written. `str()` is a sentence for the user."""


def new_key() -> str:
    return secrets.token_urlsafe(32)


class KeyStore:
    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.path = config_dir / FILE_NAME  # the fallback file
        self.stamp_path = config_dir / STAMP_NAME
        self._in_keyring: bool | None = None  # where the key was last found or put; None: not yet known

    # -- public API -------------------------------------------------------------------------

    def load(self) -> str | None:
        """The stored key, or None if there is none yet."""
        key = self._read_file()
        if key is not None:
            self._in_keyring = False
            return key
        key = self._read_keyring()
        if key is not None:
            self._in_keyring = True
        return key

    def load_or_create(self) -> str:
        key = self.load()
        if key is None:
            key = new_key()
            self._store(key)
            log.info("Generated the API key; it is %s.", self.location())
        return key

    def rotate(self) -> str:
        """Replace the key with a new one and return it. The old one is gone from storage at once."""
        key = new_key()
        self._store(key)
        log.info("Rotated the API key; it is %s.", self.location())
        return key

    def location(self) -> KeyLocation:
        """Where the key is (or will be). Reads the store: call it off any event loop."""
        if self._in_keyring is None:
            self.load()
        in_keyring = self._in_keyring
        if in_keyring is None:  # no key yet: say where one would go
            in_keyring = self._usable_backend() is not None
        return KeyLocation(True) if in_keyring else KeyLocation(False, self.path)

    # -- kept per-client keys ---------------------------------------------------------------
    # A per-client key is normally shown once and stored only as a hash. One the stdio bridge must send
    # (`keys add NAME --keep`, `switchboard stdio --key-name NAME`) is kept here too, beside the main key:
    # the keyring first, else a 0600 file; never in a client's config file.

    def keep(self, name: str, key: str) -> None:
        backend = self._usable_backend()
        if backend is not None:
            try:
                backend.set_password(SERVICE, f"{KEPT_PREFIX}{name}", key)
                if backend.get_password(SERVICE, f"{KEPT_PREFIX}{name}") == key:
                    return
            except Exception as exc:
                log.warning("The keyring could not keep the key %s (%s); using a file.", name, type(exc).__name__)
        try:
            (self.config_dir / KEPT_DIR).mkdir(mode=0o700, parents=True, exist_ok=True)
            self._replace(self.config_dir / KEPT_DIR / name, key + "\n")
        except OSError as exc:
            raise KeyStoreError(f"Cannot keep the key {name!r}: {exc.strerror}.") from None

    def load_kept(self, name: str) -> str | None:
        path = self.config_dir / KEPT_DIR / name
        try:
            return path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise KeyStoreError(f"Cannot read the kept key {path}: {exc.strerror}.") from None
        backend = self._usable_backend()
        if backend is None:
            return None
        try:
            return backend.get_password(SERVICE, f"{KEPT_PREFIX}{name}") or None
        except Exception:
            return None

    def forget(self, name: str) -> None:
        """Drop a kept key (it was revoked). Nothing to do when none was kept."""
        (self.config_dir / KEPT_DIR / name).unlink(missing_ok=True)
        backend = self._usable_backend()
        if backend is not None:
            with contextlib.suppress(Exception):
                backend.delete_password(SERVICE, f"{KEPT_PREFIX}{name}")

    # -- storage ----------------------------------------------------------------------------

    def _store(self, key: str) -> None:
        if self._write_keyring(key):
            try:
                self.path.unlink(missing_ok=True)  # the file would shadow the keyring on the next read
                self._in_keyring = True
            except OSError:
                self._write_file(key)
                self._in_keyring = False
        else:
            self._write_file(key)
            self._in_keyring = False
        self._touch_stamp()

    @staticmethod
    def _usable_backend() -> keyring.backend.KeyringBackend | None:
        return usable_backend()

    def _read_keyring(self) -> str | None:
        backend = self._usable_backend()
        if backend is None:
            return None
        try:
            return backend.get_password(SERVICE, USERNAME) or None
        except Exception as exc:  # any backend failure (locked, no D-Bus, ...) means "use the file"
            log.warning("The system keyring could not be read (%s); using the key file.", type(exc).__name__)
            return None

    def _write_keyring(self, key: str) -> bool:
        return keyring_keeps(USERNAME, key, "the API key")

    def _read_file(self) -> str | None:
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KeyStoreError(f"Cannot read the API key file {self.path}: {exc.strerror}.") from None
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o600)  # repair a mode loosened by hand or by a copy
        return text or None

    def _write_file(self, key: str) -> None:
        try:
            self._replace(self.path, key + "\n")
        except OSError as exc:
            raise KeyStoreError(f"Cannot write the API key file {self.path}: {exc.strerror}.") from None

    def _touch_stamp(self) -> None:
        try:
            self._replace(self.stamp_path, f"{secrets.token_hex(8)}\n")  # no secret: only its change matters
        except OSError as exc:
            log.warning(
                "Cannot update %s (%s); a running gateway will notice the new key later.", self.stamp_path, exc.strerror
            )

    def _replace(self, path: Path, text: str) -> None:
        """Atomic write of a 0600 file (private_store.write_private: never readable by others, even for an instant)."""
        write_private(path, text)
