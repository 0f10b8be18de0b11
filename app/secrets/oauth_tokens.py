"""Remote servers' sign-ins (OAuth tokens, refresh tokens, client registrations): kept in the OS keyring,
or in 0600 files when no keyring works, exactly as the main API key is (app/secrets/private_store.py).

One entry per (server, issuer): the keyring's `switchboard` service, user `oauth:SERVER@ISSUER`, or the
file oauth/<hash>.json beside the config. The file wins on read, since it exists only when the keyring
failed the last time (a write that reaches the keyring deletes it). A keyring cannot list its entries,
so a small index per server (`oauth-index:SERVER`, kept the same way; issuer URLs, nothing secret) says
which issuers it has records for, the latest first. Nothing here is ever in the config file, and nothing is logged.
The values are opaque JSON text to this module: the gateway writes and reads them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from app.secrets.private_store import keyring_forget, keyring_keeps, keyring_read, usable_backend, write_private

log = logging.getLogger(__name__)

DIR_NAME = "oauth"


class TokenStoreError(Exception):
    """A sign-in can be neither kept nor read. `str()` is a sentence for the user."""


class OAuthTokenStore:
    """Implements app.gateway's TokenStore. Every method blocks (keyring, disk): call it off any event loop."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.dir = config_dir / DIR_NAME

    # -- the TokenStore protocol --------------------------------------------------------------------
    def get(self, server: str, issuer: str) -> str | None:
        return self._read(_user(server, issuer), self._file(server, issuer))

    def set(self, server: str, issuer: str, value: str) -> None:
        self._keep(_user(server, issuer), self._file(server, issuer), value)
        issuers = self.issuers(server)
        if issuers[:1] != [issuer]:  # a refresh under the same issuer writes nothing more
            self._keep_index(server, [issuer, *(i for i in issuers if i != issuer)])

    def delete(self, server: str, issuer: str | None = None) -> None:
        known = self.issuers(server)
        gone = [issuer] if issuer is not None else known
        for one in gone:
            self._forget(_user(server, one), self._file(server, one))
        left = [i for i in known if i not in gone]
        if left != known or issuer is None:
            self._keep_index(server, left)

    def issuers(self, server: str) -> list[str]:
        text = self._read(_index_user(server), self._index_file(server))
        try:
            raw = json.loads(text) if text else []
        except ValueError:
            log.warning("The sign-in index of server %s cannot be read; starting a new one.", server)
            return []
        return [i for i in raw if isinstance(i, str)] if isinstance(raw, list) else []

    # -- where things go ----------------------------------------------------------------------------
    def location(self) -> str:
        """Where a new sign-in goes, for people."""
        if usable_backend() is not None:
            return "the system keyring"
        return f"files readable only by you in {self.dir}"

    def _file(self, server: str, issuer: str) -> Path:
        return self.dir / f"{_digest(server, issuer)}.json"

    def _index_file(self, server: str) -> Path:
        return self.dir / f"{_digest(server, '')}.index.json"

    def _keep_index(self, server: str, issuers: list[str]) -> None:
        if issuers:
            self._keep(_index_user(server), self._index_file(server), json.dumps(issuers))
        else:
            self._forget(_index_user(server), self._index_file(server))

    def _read(self, user: str, path: Path) -> str | None:
        """The file first: it exists only when the keyring failed the last time."""
        try:
            return path.read_text(encoding="utf-8") or None
        except FileNotFoundError:
            return keyring_read(user)
        except OSError as exc:
            raise TokenStoreError(f"Cannot read the sign-in file {path}: {exc.strerror}.") from None

    def _keep(self, user: str, path: Path, value: str) -> None:
        if keyring_keeps(user, value, "a sign-in"):
            try:
                path.unlink(missing_ok=True)  # it would shadow the keyring on the next read
                return
            except OSError:
                pass
        try:
            write_private(path, value)
        except OSError as exc:
            raise TokenStoreError(f"Cannot write {path}: {exc.strerror}.") from None

    def _forget(self, user: str, path: Path) -> None:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise TokenStoreError(f"Cannot delete the sign-in file {path}: {exc.strerror}.") from None
        keyring_forget(user)


def _user(server: str, issuer: str) -> str:
    return f"oauth:{server}@{issuer}"


def _index_user(server: str) -> str:
    return f"oauth-index:{server}"


def _digest(server: str, issuer: str) -> str:
    return hashlib.sha256(f"{server}\0{issuer}".encode()).hexdigest()[:24]
