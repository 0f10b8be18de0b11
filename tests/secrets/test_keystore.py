"""The main key's storage: keyring when it works, a 0600 file when it does not, and saying which."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import keyring
import keyring.backends.null
import pytest
from keyring.errors import KeyringError

from app.config.watcher import stamp_of
from app.secrets.keystore import FILE_NAME, SERVICE, USERNAME, KeyStore
from tests.conftest import keyring_backend
from tests.memory_keyring import MemoryKeyring

URLSAFE_43 = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_use_makes_a_key_in_the_keyring(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    store = KeyStore(tmp_path)
    assert store.load() is None
    key = store.load_or_create()
    assert URLSAFE_43.match(key)
    assert memory_keyring.passwords == {(SERVICE, USERNAME): key}
    assert not (tmp_path / FILE_NAME).exists()
    assert str(store.location()) == "stored in the system keyring"
    assert store.load_or_create() == key
    assert KeyStore(tmp_path).load() == key  # another process finds the same key


def test_rotate_replaces_the_stored_key(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    store = KeyStore(tmp_path)
    old = store.load_or_create()
    stamp = stamp_of(store.stamp_path)
    new = store.rotate()
    assert new != old and URLSAFE_43.match(new)
    assert memory_keyring.passwords[(SERVICE, USERNAME)] == new
    assert KeyStore(tmp_path).load() == new
    assert stamp_of(store.stamp_path) != stamp


@pytest.mark.usefixtures("no_keyring")
def test_no_keyring_falls_back_to_a_private_file(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "config")
    path = tmp_path / "config" / FILE_NAME
    assert str(store.location()) == f"stored in a file readable only by you: {path}"  # said before any key exists
    key = store.load_or_create()
    assert path.read_text().strip() == key
    assert mode(path) == 0o600
    assert str(store.location()) == f"stored in a file readable only by you: {path}"
    assert KeyStore(tmp_path / "config").load() == key

    new = store.rotate()
    assert new != key
    assert path.read_text().strip() == new
    assert mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temp file left


class _Broken(MemoryKeyring):
    """A keyring that is there but fails, as a locked or unreachable Secret Service does."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringError("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringError("locked")


class _Forgetful(MemoryKeyring):
    """Accepts a password and keeps nothing."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return None


@pytest.mark.parametrize("backend", [_Broken(), _Forgetful(), keyring.backends.null.Keyring()], ids=type)
def test_a_keyring_that_cannot_keep_the_key_means_the_file(tmp_path: Path, backend: object) -> None:
    with keyring_backend(backend):
        store = KeyStore(tmp_path)
        key = store.load_or_create()
        assert (tmp_path / FILE_NAME).read_text().strip() == key
        assert mode(tmp_path / FILE_NAME) == 0o600
        assert str(store.location()).startswith("stored in a file readable only by you")
        assert KeyStore(tmp_path).load_or_create() == key


def test_the_file_wins_until_the_keyring_takes_a_new_key(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    # The keyring held a key, then failed once (the file got a newer key), then works again.
    memory_keyring.set_password(SERVICE, USERNAME, "older-key-from-the-keyring")
    (tmp_path / FILE_NAME).write_text("newer-key-from-the-file\n")
    store = KeyStore(tmp_path)
    assert store.load_or_create() == "newer-key-from-the-file"
    assert str(store.location()).startswith("stored in a file")

    new = store.rotate()
    assert memory_keyring.passwords[(SERVICE, USERNAME)] == new
    assert not (tmp_path / FILE_NAME).exists()
    assert str(store.location()) == "stored in the system keyring"
    assert KeyStore(tmp_path).load() == new


@pytest.mark.usefixtures("no_keyring")
def test_a_loosened_file_mode_is_repaired_on_read(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    key = store.load_or_create()
    os.chmod(tmp_path / FILE_NAME, 0o644)
    assert KeyStore(tmp_path).load() == key
    assert mode(tmp_path / FILE_NAME) == 0o600


def test_the_stamp_holds_no_secret(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    store = KeyStore(tmp_path)
    assert stamp_of(store.stamp_path) is None
    key = store.load_or_create()
    assert stamp_of(store.stamp_path) is not None
    assert key not in store.stamp_path.read_text()
