"""The key verifier: main and per-client keys, changes that take effect on the very next check."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.config.models import ClientKey
from app.gateway import MAIN, KeyIdentity, KeyVerifier, open_access
from app.launch import build_services
from app.secrets import client_keys
from tests.conftest import write_config

FAIL_BACKEND = "keyring.backends.fail.Keyring"  # a subprocess gets no real keyring: the key goes to the file


def entry(name: str, key: str, servers: list[str] | None = None, tools: list[str] | None = None) -> ClientKey:
    return ClientKey(name=name, sha256=client_keys.digest(key), servers=servers, tools=tools)


def test_main_and_client_keys_grant_their_identity() -> None:
    verifier = KeyVerifier("main-key", [entry("cursor", "cursor-key", ["files"], ["files__read"])])
    assert verifier.verify("main-key") is MAIN
    assert verifier.verify("cursor-key") == KeyIdentity("cursor", frozenset({"files"}), frozenset({"files__read"}))
    assert verifier("cursor-key") is not None  # usable as the plain callable the guard takes
    for wrong in ("", "main-key ", "MAIN-KEY", "cursor", "x" * 1000, "clé-\udcff"):
        assert verifier.verify(wrong) is None


def test_identity_allow_lists() -> None:
    identity = KeyIdentity("c", servers=frozenset({"files"}), tools=frozenset({"files__read"}))
    assert identity.allows_tool("files", "files__read")
    assert not identity.allows_tool("files", "files__write")
    assert not identity.allows_tool("web", "files__read")  # a listed tool name cannot smuggle in another server
    servers_only = KeyIdentity("s", servers=frozenset({"files"}))
    assert servers_only.allows_tool("files", "files__anything") and not servers_only.allows_server("web")
    assert MAIN.allows_tool("any", "any__thing")


def test_set_main_takes_effect_at_once_and_tells_subscribers() -> None:
    verifier = KeyVerifier("old")
    told: list[str] = []
    unsubscribe = verifier.subscribe(lambda: told.append("changed"))
    verifier.set_main("new")
    assert verifier.verify("old") is None
    assert verifier.verify("new") is MAIN
    assert told == ["changed"]
    unsubscribe()
    verifier.set_main("newer")
    assert told == ["changed"]


def test_set_client_keys_revokes_at_once() -> None:
    verifier = KeyVerifier("main", [entry("a", "key-a"), entry("b", "key-b")])
    verifier.set_client_keys([entry("b", "key-b")])
    assert verifier.verify("key-a") is None
    assert verifier.verify("key-b") == KeyIdentity("b")


def test_checking_a_key_touches_neither_disk_nor_keyring(monkeypatch, memory_keyring) -> None:
    """A Keychain prompt or a locked Secret Service on the request path would freeze every client."""
    verifier = KeyVerifier("main", [entry("a", "key-a")])
    touched: list[str] = []

    def refuse(*args: object, **kwargs: object) -> object:
        touched.append(str(args[:1]))
        raise AssertionError("I/O on the request path")

    monkeypatch.setattr("builtins.open", refuse)
    monkeypatch.setattr("os.stat", refuse)
    monkeypatch.setattr(memory_keyring, "get_password", refuse)
    for presented in ("main", "key-a", "wrong", "x" * 100):
        verifier.verify(presented)
    assert touched == []


def test_a_rotation_by_another_process_reaches_the_verifier(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.json", {})
    services = build_services(path, guard=open_access)
    try:
        old = services.main_key.value()
        rotated = subprocess.run(
            [sys.executable, "-m", "app", "rotate-key", "--config", str(path)],
            capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHON_KEYRING_BACKEND": FAIL_BACKEND},
        )
        assert rotated.returncode == 0, rotated.stderr
        new = rotated.stdout.strip()
        assert new and new != old
        wait_until(lambda: services.verifier.verify(new) is MAIN)  # the stamp file's watcher read it, off the loop
        assert services.verifier.verify(old) is None
    finally:
        services.close()


def test_keys_added_or_revoked_in_the_config_reach_the_verifier(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.json", {})
    services = build_services(path, guard=open_access)
    try:
        key = client_keys.add(services.config, "cursor", servers=["files"])  # this process: at once
        assert services.verifier.verify(key) == KeyIdentity("cursor", servers=frozenset({"files"}))
        client_keys.revoke(services.config, "cursor")
        assert services.verifier.verify(key) is None

        added = subprocess.run(  # another process: noticed by the config store's watcher
            [sys.executable, "-m", "app", "keys", "add", "other", "--config", str(path)],
            capture_output=True, text=True, timeout=60,
        )
        assert added.returncode == 0, added.stderr
        other = added.stdout.strip()
        wait_until(lambda: services.verifier.verify(other) is not None)

        path.write_text("{ half-written")
        wait_until(lambda: services.config.error is not None)
        assert services.verifier.verify(other) is not None  # a broken file keeps the keys that were loaded
        assert services.verifier.verify(services.main_key.value()) is MAIN
    finally:
        services.close()


def wait_until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
