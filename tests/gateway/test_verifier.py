"""The key verifier: main and per-client keys, changes that take effect on the very next check."""

from __future__ import annotations

from pathlib import Path

from app.config.models import ClientKey
from app.config.store import save
from app.gateway.security.identity import MAIN, KeyIdentity
from app.gateway.security.verifier import KeyVerifier
from app.secrets import client_keys
from app.secrets.keystore import KeyStore


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
    assert identity.allows_prompt("files") and not identity.allows_prompt("web")
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


def test_a_rotation_by_another_process_is_seen_on_the_next_check(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    old = store.load_or_create()
    verifier = KeyVerifier(old, source=store)
    told: list[int] = []
    verifier.subscribe(lambda: told.append(1))

    new = KeyStore(tmp_path).rotate()  # as `switchboard rotate-key` would, in its own process
    assert verifier.verify(old) is None
    assert verifier.verify(new) is MAIN
    assert told == [1]


class _Source:
    """A store changed behind the stamp's back (say, the keyring edited by hand)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.loads = 0

    def load(self) -> str | None:
        self.loads += 1
        return self.key

    def stamp(self) -> object:
        return "never changes"


def test_a_failed_check_rereads_the_store_at_most_once_a_second() -> None:
    now = [100.0]
    source = _Source("k1")
    verifier = KeyVerifier("k1", source=source, clock=lambda: now[0])
    source.key = "k2"
    assert verifier.verify("k2") is None  # less than a second since the last read
    assert source.loads == 0
    now[0] += 1.5
    assert verifier.verify("k2") is MAIN  # re-read, found the new key
    assert verifier.verify("k1") is None
    assert source.loads == 1
    for _ in range(50):
        verifier.verify("wrong")  # a flood of bad keys costs one read per second, no more
    assert source.loads == 1


def test_keys_added_or_revoked_in_the_config_apply_at_once(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    save(path, {"gateway": {"port": 0}, "mcpServers": {}})
    verifier = KeyVerifier("main", [], config_path=path)
    key = client_keys.add(path, "cursor", servers=["files"])
    assert verifier.verify(key) == KeyIdentity("cursor", servers=frozenset({"files"}))
    client_keys.revoke(path, "cursor")
    assert verifier.verify(key) is None

    key = client_keys.add(path, "again")
    assert verifier.verify(key) is not None
    path.write_text("{ half-written")
    assert verifier.verify(key) is not None  # a broken file keeps the keys that were loaded
    assert verifier.verify("main") is MAIN
