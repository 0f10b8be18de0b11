"""Remote servers' sign-ins as kept: in the keyring (the in-memory test backend) when it works, else in 0600
files in a 0700 folder beside the config; one entry per server and issuer, an index of issuers, forgetting."""

from __future__ import annotations

import stat
from pathlib import Path

import keyring.backends.fail

from app.secrets import OAuthTokenStore
from tests.conftest import keyring_backend
from tests.memory_keyring import MemoryKeyring


def test_sign_ins_go_to_the_keyring_by_server_and_issuer(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    store = OAuthTokenStore(tmp_path)
    store.set("docs", "https://a.example", '{"t":"one"}')
    store.set("docs", "https://b.example", '{"t":"two"}')
    store.set("wiki", "https://a.example", '{"t":"three"}')
    assert store.get("docs", "https://a.example") == '{"t":"one"}' and store.get("wiki", "https://a.example")
    assert store.issuers("docs") == ["https://b.example", "https://a.example"]  # the latest first
    assert not (tmp_path / "oauth").exists()  # nothing on disk when the keyring keeps it
    assert store.location() == "the system keyring"
    store.delete("docs")
    assert store.issuers("docs") == [] and store.get("docs", "https://a.example") is None
    assert store.get("wiki", "https://a.example") == '{"t":"three"}'  # another server's sign-in stays


def test_without_a_keyring_sign_ins_are_files_only_you_can_read(tmp_path: Path) -> None:
    with keyring_backend(keyring.backends.fail.Keyring()):
        store = OAuthTokenStore(tmp_path)
        store.set("docs", "https://a.example", '{"t":"secret"}')
        assert store.get("docs", "https://a.example") == '{"t":"secret"}'
        files = list((tmp_path / "oauth").iterdir())
        assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
        assert stat.S_IMODE((tmp_path / "oauth").stat().st_mode) == 0o700
        assert "readable only by you" in store.location()
        store.delete("docs", "https://a.example")
        assert store.issuers("docs") == [] and not list((tmp_path / "oauth").iterdir())


def test_a_file_left_by_a_failed_keyring_wins_until_the_keyring_takes_the_next_write(tmp_path: Path,
                                                                                      memory_keyring: MemoryKeyring
                                                                                      ) -> None:
    with keyring_backend(keyring.backends.fail.Keyring()):
        OAuthTokenStore(tmp_path).set("docs", "https://a.example", "old")
    store = OAuthTokenStore(tmp_path)
    assert store.get("docs", "https://a.example") == "old"
    store.set("docs", "https://a.example", "new")
    assert store.get("docs", "https://a.example") == "new"
    assert not [p for p in (tmp_path / "oauth").iterdir() if not p.name.endswith(".index.json")]
