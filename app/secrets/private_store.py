"""The one way Switchboard keeps a secret: the OS keyring when one works, else a file only its owner can read.

The main API key, kept per-client keys (keystore.py) and remote servers' sign-ins (oauth_tokens.py) all go
through these few functions, so "which keyring counts as working" and "how a 0600 file is written" have
one answer. Every function blocks (keyring, disk): call them off any event loop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.backends.null

log = logging.getLogger(__name__)

SERVICE = "switchboard"


def usable_backend() -> keyring.backend.KeyringBackend | None:
    """The keyring in use, unless it cannot keep anything: `fail` raises on every call, `null` accepts
    writes and forgets them."""
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    if isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring):
        return None
    return backend


def keyring_keeps(user: str, value: str, what: str = "a secret") -> bool:
    """Put `value` in the keyring and read it back. False: use a file instead (no keyring, it failed, or it
    did not give the value back intact: some cap the size, Windows near 2.5 KB). `what` is for the log."""
    backend = usable_backend()
    if backend is None:
        return False
    try:
        backend.set_password(SERVICE, user, value)
        if backend.get_password(SERVICE, user) == value:
            return True
    except Exception as exc:
        log.warning("The system keyring could not keep %s (%s); using a file.", what, type(exc).__name__)
        return False
    log.warning("The system keyring did not keep %s intact; using a file.", what)
    return False


def keyring_read(user: str) -> str | None:
    """The keyring's value for `user`, or None (nothing kept, no keyring, or it failed: said in the log)."""
    backend = usable_backend()
    if backend is None:
        return None
    try:
        return backend.get_password(SERVICE, user) or None
    except Exception as exc:  # locked, no D-Bus, ...: as if nothing were kept
        log.warning("The system keyring could not be read (%s).", type(exc).__name__)
        return None


def keyring_forget(user: str) -> None:
    backend = usable_backend()
    if backend is not None:
        with contextlib.suppress(Exception):  # not there (or never reached it): nothing to forget
            backend.delete_password(SERVICE, user)


def write_private(path: Path, text: str) -> None:
    """Atomic write of a 0600 file in a 0700 folder: never readable by others, even for an instant
    (mkstemp creates it 0600). Raises OSError."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
