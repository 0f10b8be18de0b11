"""Per-client keys in the config file: shown once, kept as a SHA-256, the rest of the file untouched."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from app.config import ConfigStore, read, save
from app.launch import config_store
from app.secrets import client_keys
from app.secrets.client_keys import ClientKeyError


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ConfigStore:
    monkeypatch.setenv("TOKEN_FOR_TEST", "resolved-value")
    path = tmp_path / "config.json"
    save(
        path,
        {
            "gateway": {"host": "127.0.0.1", "port": 0},
            "mcpServers": {
                "files": {"command": "files-server", "env": {"TOKEN": "${TOKEN_FOR_TEST}"}},
                "web": {"url": "https://example.invalid/mcp"},
            },
        },
    )
    return ConfigStore(path)


def test_add_keeps_only_a_hash_and_the_limits(config: ConfigStore) -> None:
    key = client_keys.add(config, "cursor", servers=["files"], tools=["files__read", "files__read"])
    text = config.path.read_text()
    assert key not in text
    entry = json.loads(text)["gateway"]["client_keys"][0]
    assert entry == {
        "name": "cursor",
        "sha256": hashlib.sha256(key.encode()).hexdigest(),
        "servers": ["files"],
        "tools": ["files__read"],
    }
    assert json.loads(text)["mcpServers"]["files"]["env"]["TOKEN"] == "${TOKEN_FOR_TEST}"  # not resolved on save
    [loaded] = read(config.path).config.gateway.client_keys
    assert loaded.name == "cursor" and loaded.sha256 == client_keys.digest(key)


def test_unlimited_key_has_no_lists(config: ConfigStore) -> None:
    client_keys.add(config, "claude")
    [entry] = json.loads(config.path.read_text())["gateway"]["client_keys"]
    assert set(entry) == {"name", "sha256"}
    [listed] = client_keys.list_keys(config)
    assert listed.servers is None and listed.tools is None


def test_each_key_is_new(config: ConfigStore) -> None:
    first = client_keys.add(config, "a")
    second = client_keys.add(config, "b")
    assert first != second
    assert [k.name for k in client_keys.list_keys(config)] == ["a", "b"]


@pytest.mark.parametrize("name", ["main", "Main", "", "has space", "-leading", "x" * 65, "semi;colon"])
def test_bad_or_reserved_names_are_refused(config: ConfigStore, name: str) -> None:
    before = config.path.read_text()
    with pytest.raises(ClientKeyError):
        client_keys.add(config, name)
    assert config.path.read_text() == before


def test_duplicate_name_is_refused(config: ConfigStore) -> None:
    client_keys.add(config, "cursor")
    with pytest.raises(ClientKeyError, match="already exists"):
        client_keys.add(config, "cursor")
    assert len(client_keys.list_keys(config)) == 1


def test_revoke_removes_only_that_key(config: ConfigStore) -> None:
    client_keys.add(config, "a")
    client_keys.add(config, "b", servers=["web"])
    client_keys.revoke(config, "a")
    assert [k.name for k in client_keys.list_keys(config)] == ["b"]
    assert json.loads(config.path.read_text())["mcpServers"]["files"]["env"]["TOKEN"] == "${TOKEN_FOR_TEST}"
    with pytest.raises(ClientKeyError, match="no key named 'a'"):
        client_keys.revoke(config, "a")


def test_add_creates_the_config_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "config.json"
    assert client_keys.list_keys(config_store(path)) == []
    client_keys.add(config_store(path), "first")
    assert [k.name for k in client_keys.list_keys(config_store(path))] == ["first"]
    assert read(path).config.mcpServers  # the usual first-run config, demo included


def test_concurrent_writers_in_two_processes_lose_no_edit(config: ConfigStore) -> None:
    """`keys add` from a shell and a toggle in the panel at the same moment: the store's lock and its
    re-read on disk keep both. Eight processes each add a key while this one toggles a server."""
    import subprocess
    import sys

    script = (
        "import sys; from app.config import ConfigStore; from app.secrets import client_keys; "
        "client_keys.add(ConfigStore(__import__('pathlib').Path(sys.argv[1])), sys.argv[2])"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(config.path), f"k{i}"]) for i in range(8)
    ]
    for _ in range(5):
        config.set_enabled("web", False)
        config.set_enabled("web", True)
    assert [w.wait(timeout=60) for w in workers] == [0] * 8
    final = read(config.path).config
    assert sorted(k.name for k in final.gateway.client_keys) == [f"k{i}" for i in range(8)]
    assert final.mcpServers["web"].enabled is True
