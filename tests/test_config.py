"""Config: exact field paths in errors, one bad server isolated, ${VAR} interpolation, the store's locked
atomic writes and its one watcher, first-run default."""

from __future__ import annotations

import json

import pytest

from app.config import ConfigChanged, ConfigError, ConfigStore, FileWatcher, default_raw, parse, read, save


def problems(raw, env=None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw, env=env or {})
    return caught.value.problems


def invalid(raw, env=None) -> dict[str, str]:
    return parse(raw, env=env or {}).invalid


def test_a_bad_server_entry_is_named_exactly_and_kept_to_itself():
    assert invalid({"mcpServers": {"github": {"command": 3}}}) == {
        "github": "mcpServers.github.command: Input should be a valid string"
    }
    assert invalid({"mcpServers": {"github": {"args": ["x"]}}}) == {
        "github": "mcpServers.github: needs either `command` (a local server) or `url` (a remote server)"
    }
    assert invalid({"mcpServers": {"docs": {"url": "https://x", "transport": "grpc"}}})["docs"].startswith(
        "mcpServers.docs.transport:"
    )
    assert invalid({"mcpServers": {"g": {"command": "x", "comand": "y"}}}) == {
        "g": "mcpServers.g.comand: unknown field (did you mean `command`?)"
    }
    config = parse({"mcpServers": {"bad": {"url": "ftp://x"}, "good": {"command": "x"}}}, env={})
    assert list(config.mcpServers) == ["good"] and list(config.invalid) == ["bad"]


def test_gateway_problems_make_the_whole_file_unusable():
    assert problems({"gateway": {"prot": 1}}) == ["gateway.prot: unknown field (did you mean `port`?)"]
    assert problems({"gateway": {"port": "${PORT}"}}) == [
        "gateway.port: environment variable PORT is not set (use ${PORT:-default} for a default)"
    ]
    assert problems([]) == ["the file must hold a JSON object ({...})"]


def test_non_loopback_host_needs_an_explicit_setting():
    assert "allow_non_loopback" in problems({"gateway": {"host": "0.0.0.0"}})[0]
    assert parse({"gateway": {"host": "0.0.0.0", "allow_non_loopback": True}}, env={}).gateway.host == "0.0.0.0"


def test_variables_and_defaults():
    raw = {"mcpServers": {"d": {"url": "https://x/${PATH_PART}", "headers": {"A": "Bearer ${TOKEN:-none}"}}}}
    config = parse(raw, env={"PATH_PART": "mcp"})
    assert config.mcpServers["d"].url == "https://x/mcp"
    assert config.mcpServers["d"].headers == {"A": "Bearer none"}
    assert invalid(raw) == {
        "d": "mcpServers.d.url: environment variable PATH_PART is not set (use ${PATH_PART:-default} for a default)"
    }


def test_claude_desktop_file_loads_as_is(tmp_path):
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(
        json.dumps({"globalShortcut": "x", "mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}})
    )
    loaded = read(path, env={})
    assert loaded.config.mcpServers["time"].args == ["mcp-server-time"]
    assert loaded.config.gateway.port == 8765


def test_bad_json_and_bad_bytes_say_where(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"mcpServers": {,}}')
    with pytest.raises(ConfigError) as caught:
        read(path)
    assert "line 1, column 17" in str(caught.value) and "Traceback" not in str(caught.value)
    path.write_bytes(b'{"mcpServers": {"x": {"command": "caf\xe9"}}}')  # Latin-1, not UTF-8
    with pytest.raises(ConfigError) as caught:
        read(path)
    assert "not UTF-8 text: an invalid byte at line 1, column 38 (save the file as UTF-8)" in str(caught.value)


def test_toggling_keeps_references_and_saves_atomically(tmp_path):
    path = tmp_path / "c.json"
    save(path, {"mcpServers": {"d": {"url": "https://x", "headers": {"A": "${TOKEN}"}}}})
    store = ConfigStore(path, env={"TOKEN": "t"})
    store.set_enabled("d", False)
    saved = json.loads(path.read_text())
    assert saved["mcpServers"]["d"] == {"url": "https://x", "headers": {"A": "${TOKEN}"}, "enabled": False}
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["c.json"]  # no temp file


def test_a_broken_file_is_never_written_over(tmp_path):
    path = tmp_path / "c.json"
    save(path, {"mcpServers": {"d": {"command": "x"}}})
    store = ConfigStore(path)
    store.open()
    path.write_text('{"mcpServers": {"d": {"command": "x"}, ')  # the user is mid-edit
    with pytest.raises(ConfigError) as caught:
        store.set_enabled("d", False)
    assert "fix the file first; nothing was changed" in str(caught.value)
    assert path.read_text() == '{"mcpServers": {"d": {"command": "x"}, '


def test_the_watcher_reports_edits_and_breakage_once_each(tmp_path):
    path = tmp_path / "c.json"
    save(path, {"mcpServers": {"d": {"command": "x"}}})
    store = ConfigStore(path)
    store.open()
    seen: list[ConfigChanged] = []
    store.subscribe(seen.append)
    watcher = FileWatcher()
    store.watch(watcher)

    path.write_text('{"mcpServers": {')
    watcher.check_now()
    watcher.check_now()
    assert len(seen) == 1 and seen[0].error is not None and "not valid JSON" in seen[0].error.sentence()
    assert seen[0].loaded.config.mcpServers["d"].command == "x"  # the last good config stays in force
    assert store.error is not None

    save(path, {"mcpServers": {"d": {"command": "y"}}})
    watcher.check_now()
    assert len(seen) == 2 and seen[1].error is None and seen[1].loaded.config.mcpServers["d"].command == "y"
    assert store.error is None

    store.set_enabled("d", False)  # our own write: published once, and the watcher does not repeat it
    watcher.check_now()
    assert len(seen) == 3 and seen[2].loaded.config.mcpServers["d"].enabled is False


def test_first_run_writes_the_demo_default(tmp_path):
    demo_command = ["/usr/bin/python3", "-m", "app"]
    store = ConfigStore(tmp_path / "new" / "config.json", default=lambda: default_raw(demo_command))
    demo = store.open().config.mcpServers["demo"]
    assert demo.command == "/usr/bin/python3" and demo.args == ["-m", "app", "demo-server"]
