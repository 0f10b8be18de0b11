"""The key verbs as a user types them: sentences, exit codes, the key alone on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.config import ConfigStore, save
from app.secrets import client_keys
from app.secrets.keystore import KeyStore
from tests.memory_keyring import MemoryKeyring


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "cfg" / "config.json"
    save(path, {"gateway": {"port": 0}, "mcpServers": {"files": {"command": "files-server"}}})
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_show_key_prints_the_stored_key(config: Path, memory_keyring: MemoryKeyring, capsys) -> None:
    code, out, err = run(capsys, "show-key", "--config", str(config))
    assert code == 0
    assert out.strip() == KeyStore(config.parent).load()
    assert "stored in the system keyring" in err
    # --config before the verb works too
    code, again, _ = run(capsys, "--config", str(config), "show-key")
    assert (code, again) == (0, out)


@pytest.mark.usefixtures("no_keyring")
def test_rotate_key_replaces_it_and_says_where(config: Path, capsys) -> None:
    _, old, _ = run(capsys, "show-key", "--config", str(config))
    code, new, err = run(capsys, "rotate-key", "--config", str(config))
    assert code == 0
    assert new.strip() != old.strip()
    assert KeyStore(config.parent).load() == new.strip()
    assert f"a file readable only by you: {config.parent / 'api-key'}" in err
    assert "old key no longer works" in err


def test_keys_add_list_revoke(config: Path, capsys) -> None:
    code, out, err = run(
        capsys, "keys", "add", "cursor", "--servers", "files,ghost", "--tools", "files__read", "--config", str(config)
    )
    assert code == 0
    key = out.strip()
    assert client_keys.digest(key) == client_keys.list_keys(ConfigStore(config))[0].sha256
    assert "will not be shown again" in err
    assert "no server named 'ghost'" in err
    assert key not in config.read_text()

    code, out, _ = run(capsys, "keys", "list", "--config", str(config))
    assert code == 0
    assert out.strip() == "cursor: the servers files, ghost, only the tools files__read"
    assert key not in out

    code, _, err = run(capsys, "keys", "revoke", "cursor", "--config", str(config))
    assert code == 0 and "Revoked" in err
    assert json.loads(config.read_text())["gateway"]["client_keys"] == []


def test_mistakes_are_sentences_not_tracebacks(config: Path, capsys) -> None:
    code, _, err = run(capsys, "keys", "revoke", "nobody", "--config", str(config))
    assert code == 1
    assert err.strip() == "switchboard: There is no key named 'nobody'."
    run(capsys, "keys", "add", "dup", "--config", str(config))
    code, out, err = run(capsys, "keys", "add", "dup", "--config", str(config))
    assert code == 1 and out == "" and "already exists" in err and "Traceback" not in err

    config.write_text("{not json")
    code, _, err = run(capsys, "keys", "list", "--config", str(config))
    assert code == 1 and "not valid JSON" in err and "Traceback" not in err
