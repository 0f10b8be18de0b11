"""`switchboard keys add` with the call-policy options: tool search, a rate limit, policies per glob."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigStore, save
from app.secrets import client_keys
from tests.secrets.test_keys_cli import run


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "cfg" / "config.json"
    save(path, {"gateway": {"port": 0}, "mcpServers": {"files": {"command": "files-server"}}})
    return path


def test_keys_add_with_tool_search_rate_limit_and_policies(config: Path, capsys) -> None:
    code, out, err = run(
        capsys, "keys", "add", "agent", "--tool-search", "--rate-limit", "30/min", "--burst", "5",
        "--policy", "files__write*=ask", "--policy", "files__delete*=deny", "--config", str(config),
    )  # fmt: skip
    assert code == 0, err
    entry = client_keys.list_keys(ConfigStore(config))[0]
    assert entry.tool_search is True
    assert (entry.rate_limit.per_minute, entry.rate_limit.burst) == (30, 5)
    assert entry.policy == {"files__write*": "ask", "files__delete*": "deny"}
    assert "tool search mode; at most 30 calls/min, burst 5; policy files__write*=ask, files__delete*=deny" in err
    code, out, _ = run(capsys, "keys", "list", "--config", str(config))
    assert out.strip() == (
        "agent: every server, every tool; tool search mode; at most 30 calls/min, burst 5; "
        "policy files__write*=ask, files__delete*=deny"
    )


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--rate-limit", "fast"], "give calls per minute as N/min, e.g. 60/min"),
        (["--rate-limit", "10/hour"], "give calls per minute as N/min"),
        (["--policy", "files__x=maybe"], "give GLOB=allow, GLOB=deny or GLOB=ask"),
        (["--burst", "0", "--rate-limit", "5/min"], "give a whole number of at least 1"),
    ],
)
def test_keys_add_refuses_bad_options_in_one_sentence(config: Path, capsys, argv: list[str], says: str) -> None:
    before = config.read_text()
    with pytest.raises(SystemExit) as stopped:
        run(capsys, "keys", "add", "agent", *argv, "--config", str(config))
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert config.read_text() == before  # nothing written


def test_burst_alone_is_refused(config: Path, capsys) -> None:
    code, _, err = run(capsys, "keys", "add", "agent", "--burst", "3", "--config", str(config))
    assert code == 1 and "--burst needs --rate-limit N/min" in err
