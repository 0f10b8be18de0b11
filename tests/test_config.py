"""Config: exact field paths in errors, ${VAR} interpolation, atomic saves, first-run default."""

from __future__ import annotations

import json

import pytest

from app.config import ConfigError, load, load_or_create, parse, save, with_enabled


def problems(raw, env=None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw, env=env or {})
    return caught.value.problems


def test_missing_field_is_named_exactly():
    assert problems({"mcpServers": {"github": {"command": 3}}}) == [
        "mcpServers.github.command: Input should be a valid string"
    ]
    assert problems({"mcpServers": {"github": {"args": ["x"]}}}) == [
        "mcpServers.github: needs either `command` (a local server) or `url` (a remote server)"
    ]
    assert problems({"mcpServers": {"docs": {"url": "https://x", "transport": "grpc"}}})[0].startswith(
        "mcpServers.docs.transport:"
    )
    assert problems({"mcpServers": {"g": {"command": "x", "comand": "y"}}}) == ["mcpServers.g.comand: unknown field"]


def test_non_loopback_host_needs_an_explicit_setting():
    assert "allow_non_loopback" in problems({"gateway": {"host": "0.0.0.0"}})[0]
    assert parse({"gateway": {"host": "0.0.0.0", "allow_non_loopback": True}}, env={}).gateway.host == "0.0.0.0"


def test_variables_and_defaults():
    raw = {"mcpServers": {"d": {"url": "https://x/${PATH_PART}", "headers": {"A": "Bearer ${TOKEN:-none}"}}}}
    config = parse(raw, env={"PATH_PART": "mcp"})
    assert config.mcpServers["d"].url == "https://x/mcp"
    assert config.mcpServers["d"].headers == {"A": "Bearer none"}
    assert problems(raw) == [
        "mcpServers.d.url: environment variable PATH_PART is not set (use ${PATH_PART:-default} for a default)"
    ]


def test_claude_desktop_file_loads_as_is(tmp_path):
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(
        json.dumps({"globalShortcut": "x", "mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}})
    )
    loaded = load(path, env={})
    assert loaded.config.mcpServers["time"].args == ["mcp-server-time"]
    assert loaded.config.gateway.port == 8765


def test_bad_json_says_where(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"mcpServers": {,}}')
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert "line 1, column 17" in str(caught.value) and "Traceback" not in str(caught.value)


def test_toggling_keeps_references_and_saves_atomically(tmp_path):
    path = tmp_path / "c.json"
    raw = {"mcpServers": {"d": {"url": "https://x", "headers": {"A": "${TOKEN}"}}}}
    save(path, with_enabled(raw, "d", False))
    saved = json.loads(path.read_text())
    assert saved["mcpServers"]["d"] == {"url": "https://x", "headers": {"A": "${TOKEN}"}, "enabled": False}
    assert raw["mcpServers"]["d"].get("enabled") is None  # the input is not modified
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]  # no temp file left behind


def test_first_run_writes_the_demo_default(tmp_path):
    loaded = load_or_create(tmp_path / "new" / "config.json", ["/usr/bin/python3", "-m", "app"])
    demo = loaded.config.mcpServers["demo"]
    assert demo.command == "/usr/bin/python3" and demo.args == ["-m", "app", "demo-server"]
