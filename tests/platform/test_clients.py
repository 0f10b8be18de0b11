"""The client config writers against real-shaped files in a throwaway HOME.

Every file here is a copy of what the client (or a user) writes: other servers, other settings,
comments, trailing commas, tabs, four-space indents. The tests compare bytes, not parsed values,
wherever the promise is "everything else stays exactly".
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest

from app.platform.clients import (
    CLIENTS,
    ClientFileError,
    Entry,
    EntryError,
    UnknownClientError,
    Where,
    get,
    snippet,
)
from app.platform.clients.safe_write import BACKUP_SUFFIX

FIXTURES = Path(__file__).parent / "fixtures"
URL = "http://127.0.0.1:48213/mcp"
HEADERS = {"Authorization": "Bearer sb-test-key-0123456789"}
BRIDGE = "/opt/switchboard/bin/switchboard"
ENTRY = Entry("switchboard", url=URL, headers=HEADERS, command=BRIDGE, args=("stdio",))
STDIO_ONLY = Entry("switchboard", command=BRIDGE, args=("stdio",))

FIXTURE_OF = {
    "claude-desktop": "claude_desktop_config.json",
    "claude-code": "claude.json",
    "cursor": "cursor_mcp.json",
    "vscode": "vscode_mcp.json",
    "windsurf": "windsurf_mcp_config.json",
    "zed": "zed_settings.json",
    "codex": "codex_config.toml",
    "gemini": "gemini_settings.json",
    "lm-studio": "lmstudio_mcp.json",
    "cline": "cline_mcp_settings.json",
}

# What servers() must return for each fixture: Claude Desktop's shape, ${VAR} strings untouched.
IMPORTED: dict[str, dict[str, Any]] = {
    "claude-desktop": {
        "filesystem": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/ann/Documents"],
            "env": {},
        },
        "github": {
            "command": "docker",
            "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
            "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_TOKEN}"},
        },
    },
    "claude-code": {
        "sentry": {"url": "https://mcp.sentry.dev/mcp", "headers": {"Authorization": "Bearer ${SENTRY_TOKEN}"}},
        "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {}},
        "asana": {"url": "https://mcp.asana.com/sse", "headers": {}, "transport": "sse"},
    },
    "cursor": {
        "context7": {
            "url": "https://mcp.context7.com/mcp",
            "headers": {"CONTEXT7_API_KEY": "${env:CONTEXT7_API_KEY}"},
        },
        "playwright": {"command": "npx", "args": ["@playwright/mcp@latest"], "env": {}},
    },
    "vscode": {
        "github": {
            "url": "https://api.githubcopilot.com/mcp/",
            "headers": {"Authorization": "Bearer ${input:github_token}"},
        },
        "fetch": {"command": "uvx", "args": ["mcp-server-fetch"], "env": {}},
    },
    "windsurf": {
        "sevalla": {
            "url": "https://mcp.sevalla.com/mcp",
            "headers": {"Authorization": "Bearer ${env:SEVALLA_API_KEY}"},
        },
        "sportmonks": {
            "command": "npx",
            "args": ["-y", "sportmonks-football-mcp-server"],
            "env": {"SPORTMONKS_API_TOKEN": "${SPORTMONKS_TOKEN}"},
        },
    },
    "zed": {
        "postgres": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-postgres", "postgresql://localhost/mydb"],
            "env": {},
        },
        "linear": {"url": "https://mcp.linear.app/mcp", "headers": {"Authorization": "Bearer ${LINEAR_API_KEY}"}},
        "old-style": {"command": "node", "args": ["server.js"], "env": {"TOKEN": "${TOKEN}"}, "enabled": False},
    },
    "codex": {
        "time": {
            "command": "uvx",
            "args": ["mcp-server-time", "--local-timezone", "Europe/Berlin"],
            "env": {"TZ": "${TZ}"},
        },
        "docs": {
            "url": "https://docs.example.com/mcp",
            "headers": {
                "X-Team": "platform",
                "X-Api-Key": "${DOCS_API_KEY}",
                "Authorization": "Bearer ${DOCS_TOKEN}",
            },
        },
    },
    "gemini": {
        "github": {"url": "https://api.githubcopilot.com/mcp/", "headers": {"Authorization": "Bearer ${GITHUB_PAT}"}},
        "legacy-sse": {"url": "http://localhost:8080/sse", "headers": {}, "transport": "sse"},
        "python-tools": {
            "command": "python",
            "args": ["-m", "my_mcp_server"],
            "env": {"API_KEY": "$EXTERNAL_API_KEY"},
            "cwd": "./mcp-servers/python",
        },
    },
    "lm-studio": {
        "hf-mcp-server": {"url": "https://huggingface.co/mcp", "headers": {"Authorization": "Bearer ${HF_TOKEN}"}},
    },
    "cline": {
        "brave-search": {
            "command": "node",
            "args": ["/home/ann/Documents/Cline/MCP/brave-search/dist/index.js"],
            "env": {"BRAVE_API_KEY": "${BRAVE_API_KEY}"},
        },
        "remote-docs": {
            "url": "https://docs.example.com/mcp",
            "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"},
            "enabled": False,
        },
        "old-sse": {"url": "https://legacy.example.com/sse", "headers": {}, "transport": "sse"},
    },
}

ALL = list(FIXTURE_OF)
HTTP_CLIENTS = [cid for cid in ALL if CLIENTS[cid].http]


@pytest.fixture
def where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Where:
    """A throwaway HOME on Linux, with an empty PATH folder the tests can put fake client commands in."""
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return Where(home=home, env={"PATH": str(tmp_path / "bin")}, system="linux")


def place(client_id: str, where: Where, text: str | None = None) -> Path:
    """Put the client's fixture (or `text`) where the client keeps its file in `where`'s HOME."""
    path = CLIENTS[client_id].config_path(where)
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is None:
        path.write_bytes((FIXTURES / FIXTURE_OF[client_id]).read_bytes())
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


def parse(path: Path) -> dict[str, Any]:
    if path.suffix == ".toml" or path.name.endswith(".toml" + BACKUP_SUFFIX):
        return tomllib.loads(path.read_text())
    import json5

    return json5.loads(path.read_text())  # type: ignore[no-any-return]


def backups_beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if BACKUP_SUFFIX in p.name)


# -- the round trip ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_id", ALL)
def test_connect_adds_only_our_entry_and_disconnect_restores_the_exact_bytes(client_id: str, where: Where) -> None:
    writer = CLIENTS[client_id]
    path = place(client_id, where)
    original = path.read_bytes()

    change = writer.connect(where, ENTRY)

    assert change.changed and change.path == path
    connected = path.read_bytes()
    assert connected != original
    assert writer.status(where, "switchboard") == "connected"
    after = writer.servers(where)
    assert {k: v for k, v in after.items() if k != "switchboard"} == IMPORTED[client_id]
    assert list(after) == [*IMPORTED[client_id], "switchboard"]  # ours goes last, the others keep their order

    gone = writer.disconnect(where, "switchboard")

    assert gone.changed and gone.path == path
    assert path.read_bytes() == original
    assert writer.status(where, "switchboard") == "not connected"


@pytest.mark.parametrize("client_id", ALL)
def test_connect_twice_changes_nothing_the_second_time(client_id: str, where: Where) -> None:
    writer = CLIENTS[client_id]
    path = place(client_id, where)
    writer.connect(where, ENTRY)
    first = path.read_bytes()
    first_stat = path.stat()

    again = writer.connect(where, ENTRY)

    assert not again.changed
    assert path.read_bytes() == first
    assert path.stat().st_mtime_ns == first_stat.st_mtime_ns  # not even rewritten with the same bytes
    assert again.backup is not None and again.backup.read_bytes() == (FIXTURES / FIXTURE_OF[client_id]).read_bytes()


@pytest.mark.parametrize("client_id", ALL)
def test_the_first_write_keeps_a_backup_and_later_writes_never_touch_it(client_id: str, where: Where) -> None:
    writer = CLIENTS[client_id]
    path = place(client_id, where)
    original = path.read_bytes()

    first = writer.connect(where, ENTRY)
    assert first.backup == path.with_name(path.name + BACKUP_SUFFIX)
    assert first.backup.read_bytes() == original

    moved = Entry("switchboard", url=URL.replace("48213", "48214"), headers=HEADERS, command=BRIDGE, args=("x",))
    second = writer.connect(where, moved)
    writer.disconnect(where, "switchboard")

    assert second.changed and second.backup == first.backup
    assert first.backup.read_bytes() == original
    assert backups_beside(path) == [path.name + BACKUP_SUFFIX]


@pytest.mark.parametrize("client_id", ALL)
def test_a_file_that_does_not_parse_is_left_alone_with_an_error_naming_file_and_line(
    client_id: str, where: Where
) -> None:
    writer = CLIENTS[client_id]
    good = (FIXTURES / FIXTURE_OF[client_id]).read_text()
    lines = good.splitlines(keepends=True)
    bad_line = "broken = \n" if client_id == "codex" else '  "broken" true,\n'
    path = place(client_id, where, "".join([lines[0], bad_line, *lines[1:]]))
    before = path.read_bytes()

    for attempt in (
        lambda: writer.connect(where, ENTRY),
        lambda: writer.connect(where, ENTRY, replace=True),
        lambda: writer.disconnect(where, "github"),
        lambda: writer.servers(where),
        lambda: writer.status(where, "switchboard"),
    ):
        with pytest.raises(ClientFileError) as caught:
            attempt()
        message = str(caught.value)
        assert str(path) in message
        assert "line 2" in message
        assert "\n" not in message
        assert "unchanged" in message

    assert path.read_bytes() == before
    assert backups_beside(path) == []


@pytest.mark.parametrize("client_id", ALL)
def test_servers_imports_the_clients_entries_in_claude_desktop_shape(client_id: str, where: Where) -> None:
    place(client_id, where)
    assert CLIENTS[client_id].servers(where) == IMPORTED[client_id]


@pytest.mark.parametrize("client_id", ALL)
def test_replace_removes_the_other_servers_and_the_backup_holds_them(client_id: str, where: Where) -> None:
    writer = CLIENTS[client_id]
    path = place(client_id, where)
    original = path.read_bytes()
    others = tuple(parse_members(client_id, path))

    change = writer.connect(where, ENTRY, replace=True)

    assert change.changed and change.removed == others
    assert list(writer.servers(where)) == ["switchboard"]
    assert change.backup is not None and change.backup.read_bytes() == original
    assert set(parse_members(client_id, change.backup)) >= set(others)
    # The settings around the server block are still there.
    before_rest = {k: v for k, v in parse(change.backup).items() if k != writer.container[0]}
    after_rest = {k: v for k, v in parse(path).items() if k != writer.container[0]}
    assert after_rest == before_rest


def parse_members(client_id: str, path: Path) -> dict[str, Any]:
    node: Any = parse(path)
    for key in CLIENTS[client_id].container:
        node = node.get(key, {})
    return dict(node)


def test_a_second_replace_keeps_servers_added_since_the_first_backup_in_a_new_backup(where: Where) -> None:
    writer = get("cursor")
    path = place("cursor", where)
    original = path.read_bytes()
    writer.connect(where, ENTRY, replace=True)
    data = json.loads(path.read_text())
    data["mcpServers"]["added-later"] = {"command": "uvx", "args": ["later"]}
    path.write_text(json.dumps(data, indent=4))

    change = writer.connect(where, ENTRY, replace=True)

    assert change.removed == ("added-later",)
    assert change.backup == path.with_name(path.name + BACKUP_SUFFIX + "-2")
    assert json.loads(change.backup.read_text())["mcpServers"]["added-later"] == {"command": "uvx", "args": ["later"]}
    assert path.with_name(path.name + BACKUP_SUFFIX).read_bytes() == original


# -- what each client gets -------------------------------------------------------------------------------------


NATIVE_HTTP = {
    "claude-code": {"type": "http", "url": URL, "headers": HEADERS},
    "cursor": {"url": URL, "headers": HEADERS},
    "vscode": {"type": "http", "url": URL, "headers": HEADERS},
    "windsurf": {"serverUrl": URL, "headers": HEADERS},
    "zed": {"url": URL, "headers": HEADERS},
    "codex": {"url": URL, "http_headers": HEADERS},
    "gemini": {"httpUrl": URL, "headers": HEADERS},
    "lm-studio": {"url": URL, "headers": HEADERS},
    "cline": {"type": "streamableHttp", "url": URL, "headers": HEADERS},
}


@pytest.mark.parametrize("client_id", HTTP_CLIENTS)
def test_an_http_entry_read_back_from_the_file_is_exactly_the_url_and_headers_given(
    client_id: str, where: Where
) -> None:
    writer = CLIENTS[client_id]
    path = place(client_id, where)

    writer.connect(where, ENTRY)

    assert parse_members(client_id, path)["switchboard"] == NATIVE_HTTP[client_id]
    assert writer.servers(where)["switchboard"] == {"url": URL, "headers": HEADERS}


@pytest.mark.parametrize("client_id", ALL)
def test_a_command_only_entry_is_written_as_a_stdio_server(client_id: str, where: Where) -> None:
    writer = CLIENTS[client_id]
    path = place(client_id, where)

    writer.connect(where, STDIO_ONLY)

    written = parse_members(client_id, path)["switchboard"]
    assert written["command"] == BRIDGE and written["args"] == ["stdio"]
    assert "url" not in written
    assert writer.servers(where)["switchboard"] == {"command": BRIDGE, "args": ["stdio"], "env": {}}


def test_claude_desktop_takes_the_bridge_even_when_a_url_is_offered_and_refuses_a_url_only_entry(where: Where) -> None:
    writer = get("claude-desktop")
    path = place("claude-desktop", where)
    writer.connect(where, ENTRY)
    assert json.loads(path.read_text())["mcpServers"]["switchboard"] == {"command": BRIDGE, "args": ["stdio"]}

    before = path.read_bytes()
    with pytest.raises(EntryError, match="only stdio"):
        writer.connect(where, Entry("switchboard", url=URL, headers=HEADERS))
    assert path.read_bytes() == before


@pytest.mark.parametrize("client_id", ALL)
def test_a_missing_file_and_folder_are_created_with_the_minimal_shape(client_id: str, where: Where) -> None:
    writer = CLIENTS[client_id]
    path = writer.config_path(where)
    assert not path.exists() and (path.parent == where.home or not path.parent.exists())
    assert writer.status(where, "switchboard") == "no config file"
    assert writer.disconnect(where, "switchboard").changed is False

    change = writer.connect(where, ENTRY)

    assert change.changed and change.backup is None  # nothing of the user's to keep
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the API key
    assert parse_members(client_id, path) == {"switchboard": writer.native(ENTRY)}
    assert set(parse(path)) == {writer.container[0]}
    writer.disconnect(where, "switchboard")
    assert parse_members(client_id, path) == {}


def test_an_existing_entry_keeps_what_the_client_added_to_it(where: Where) -> None:
    """Cline writes autoApprove/disabled into entries; a reconnect with a new URL must not drop them."""
    writer = get("cline")
    path = place("cline", where)
    writer.connect(where, ENTRY)
    data = json.loads(path.read_text())
    data["mcpServers"]["switchboard"]["autoApprove"] = ["time__now"]
    path.write_text(json.dumps(data, indent=2))
    moved = Entry("switchboard", url=URL + "?v=2", headers=HEADERS)

    assert writer.connect(where, moved).changed
    assert not writer.connect(where, moved).changed
    assert parse_members("cline", path)["switchboard"] == {
        "type": "streamableHttp",
        "url": URL + "?v=2",
        "headers": HEADERS,
        "autoApprove": ["time__now"],
    }


# -- paths on every OS ----------------------------------------------------------------------------------------


def windows(tmp_path: Path) -> Where:
    home = tmp_path / "Users" / "ann"
    return Where(
        home=home,
        env={"APPDATA": str(home / "AppData" / "Roaming"), "LOCALAPPDATA": str(home / "AppData" / "Local")},
        system="win32",
    )


def test_claude_desktop_paths_on_every_os(tmp_path: Path) -> None:
    writer = get("claude-desktop")
    home = tmp_path / "home"
    name = "claude_desktop_config.json"

    assert writer.config_path(Where(home=home, env={}, system="linux")) == home / ".config" / "Claude" / name
    xdg = Where(home=home, env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, system="linux")
    assert writer.config_path(xdg) == tmp_path / "xdg" / "Claude" / name
    mac = Where(home=home, env={}, system="darwin")
    assert writer.config_path(mac) == home / "Library" / "Application Support" / "Claude" / name

    win = windows(tmp_path)
    assert writer.config_path(win) == win.home / "AppData" / "Roaming" / "Claude" / name
    no_env = Where(home=win.home, env={}, system="win32")  # %APPDATA% unset: its usual place under the profile
    assert writer.config_path(no_env) == win.home / "AppData" / "Roaming" / "Claude" / name
    assert writer.installed(win) == (False, writer.installed(win)[1])

    package = win.home / "AppData" / "Local" / "Packages" / "Claude_pzs8sxrjxfjjc"
    package.mkdir(parents=True)
    msix = package / "LocalCache" / "Roaming" / "Claude" / name
    assert writer.config_path(win) == msix
    assert writer.installed(win)[0] is True

    writer.connect(win, ENTRY)
    assert json.loads(msix.read_text())["mcpServers"]["switchboard"]["command"] == BRIDGE
    assert not (win.home / "AppData" / "Roaming" / "Claude").exists()


def test_vscode_and_cline_paths_on_every_os(tmp_path: Path) -> None:
    home = tmp_path / "home"
    linux = Where(home=home, env={}, system="linux")
    mac = Where(home=home, env={}, system="darwin")
    win = windows(tmp_path)
    user = {
        "linux": home / ".config" / "Code" / "User",
        "darwin": home / "Library" / "Application Support" / "Code" / "User",
        "win32": win.home / "AppData" / "Roaming" / "Code" / "User",
    }
    for where in (linux, mac, win):
        assert get("vscode").config_path(where) == user[where.system] / "mcp.json"
        cline = user[where.system] / "globalStorage" / "saoudrizwan.claude-dev" / "settings"
        assert get("cline").config_path(where) == cline / "cline_mcp_settings.json"
        get("vscode").connect(where, ENTRY)
        assert json.loads((user[where.system] / "mcp.json").read_text())["servers"]["switchboard"]["type"] == "http"

    project = tmp_path / "proj"
    assert get("vscode").config_path(linux, project) == project / ".vscode" / "mcp.json"


def test_zed_and_project_paths(tmp_path: Path) -> None:
    home = tmp_path / "home"
    zed = get("zed")
    assert zed.config_path(Where(home=home, env={}, system="linux")) == home / ".config" / "zed" / "settings.json"
    xdg = Where(home=home, env={"XDG_CONFIG_HOME": str(tmp_path / "x")}, system="linux")
    assert zed.config_path(xdg) == tmp_path / "x" / "zed" / "settings.json"
    assert zed.config_path(Where(home=home, env={}, system="darwin")) == home / ".config" / "zed" / "settings.json"
    win = windows(tmp_path)
    assert zed.config_path(win) == win.home / "AppData" / "Roaming" / "Zed" / "settings.json"

    project = tmp_path / "proj"
    where = Where(home=home, env={}, system="linux")
    assert get("claude-code").config_path(where, project) == project / ".mcp.json"
    assert get("cursor").config_path(where, project) == project / ".cursor" / "mcp.json"
    with pytest.raises(EntryError, match="no per-project config"):
        get("windsurf").config_path(where, project)

    claude_dir = Where(home=home, env={"CLAUDE_CONFIG_DIR": str(tmp_path / "cc")}, system="linux")
    assert get("claude-code").config_path(claude_dir) == tmp_path / "cc" / ".claude.json"
    codex_home = Where(home=home, env={"CODEX_HOME": str(tmp_path / "cx")}, system="linux")
    assert get("codex").config_path(codex_home) == tmp_path / "cx" / "config.toml"


def test_claude_code_project_scope_writes_dot_mcp_json_in_the_project(where: Where, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / ".mcp.json").write_text('{\n  "mcpServers": {\n    "db": {"command": "pg-mcp"}\n  }\n}\n')
    original = (project / ".mcp.json").read_bytes()
    writer = get("claude-code")

    writer.connect(where, ENTRY, project=project)

    assert writer.status(where, "switchboard", project=project) == "connected"
    assert writer.status(where, "switchboard") == "no config file"  # ~/.claude.json untouched, not even made
    assert writer.servers(where, project=project)["db"] == {"command": "pg-mcp", "args": [], "env": {}}
    writer.disconnect(where, "switchboard", project=project)
    assert (project / ".mcp.json").read_bytes() == original


def test_default_where_is_this_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    here = Where()
    assert here.home == tmp_path and here.system == "linux"
    assert get("zed").config_path(here) == tmp_path / "cfg" / "zed" / "settings.json"


# -- file handling -------------------------------------------------------------------------------------------


def test_a_file_keeps_its_mode_and_a_symlinked_file_keeps_its_link(where: Where, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles" / "cursor-mcp.json"
    dotfiles.parent.mkdir()
    dotfiles.write_bytes((FIXTURES / "cursor_mcp.json").read_bytes())
    os.chmod(dotfiles, 0o640)
    link = get("cursor").config_path(where)
    link.parent.mkdir(parents=True)
    link.symlink_to(dotfiles)

    get("cursor").connect(where, ENTRY)

    assert link.is_symlink() and link.resolve() == dotfiles
    assert "switchboard" in json.loads(dotfiles.read_text())["mcpServers"]
    assert stat.S_IMODE(dotfiles.stat().st_mode) == 0o640
    backup = link.with_name(link.name + BACKUP_SUFFIX)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o640
    assert [p.name for p in dotfiles.parent.iterdir()] == ["cursor-mcp.json"]  # no temp file left behind


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"mcpServers":{"a":{"command":"x"}}}', id="minified"),
        pytest.param('{"mcpServers": {"a": {"command": "x"}}, "other": 1}\n', id="one-line"),
        pytest.param('\ufeff{\r\n\t"mcpServers": {\r\n\t\t"a": {"command": "x"}\r\n\t}\r\n}\r\n', id="bom-crlf-tabs"),
        pytest.param(
            '{\n  "mcpServers": {\n    "a": {"command": "x"}, // ours goes after this\n  }\n}\n', id="comment+comma"
        ),
        pytest.param('{\n  "mcpServers": {\n    "a": {"command": "x"} /* last */\n  }\n}\n', id="block-comment"),
        pytest.param('{\n  "mcpServers": {}\n}\n', id="empty-block"),
        pytest.param('{\n  "mcpServers": {\n    "a": {"command": "x"} // the only one\n  }\n}\n', id="line-comment"),
        pytest.param(
            '{\n  "mcpServers": {\n    "a": {"command": "x"}, // first\n    "b": {"command": "y"}\n  }\n}\n',
            id="comment-mid",
        ),
        pytest.param('{\n  "theme": "dark", // no servers yet\n}\n', id="no-block-trailing-comma"),
        pytest.param("{}", id="empty-object"),
        pytest.param(
            '{\n    "mcpServers": {\n        "a": {\n            "command": "x",\n        },\n    },\n}', id="jsonc-4"
        ),
    ],
)
def test_unusual_layouts_come_back_byte_for_byte(text: str, where: Where) -> None:
    writer = get("cursor")
    path = place("cursor", where, text)

    writer.connect(where, ENTRY)
    assert writer.servers(where)["switchboard"] == {"url": URL, "headers": HEADERS}
    writer.disconnect(where, "switchboard")

    assert path.read_bytes() == text.encode("utf-8")


def test_disconnect_takes_out_only_our_entry_wherever_it_sits(where: Where) -> None:
    writer = get("zed")
    path = place("zed", where)
    writer.connect(where, ENTRY)
    text = path.read_text()
    assert text.count("\n  }, // MCP") == 1
    path.write_text(text.replace("\n  }, // MCP", ',\n    "after-ours": {"command": "z"}\n  }, // MCP'))

    writer.disconnect(where, "switchboard")

    original = (FIXTURES / "zed_settings.json").read_text()
    assert path.read_text() == original.replace("\n  }, // MCP", ',\n    "after-ours": {"command": "z"}\n  }, // MCP')

    # Ours first, a commented server after it: the comment belongs to that server and stays.
    first = (
        '{\n  "context_servers": {\n    "switchboard": {"url": "x"},\n    // docs\n    "docs": {"url": "y"}\n  }\n}\n'
    )
    path.write_text(first)
    writer.disconnect(where, "switchboard")
    assert path.read_text() == '{\n  "context_servers": {\n    // docs\n    "docs": {"url": "y"}\n  }\n}\n'


def test_codex_toml_keeps_comments_updates_in_place_and_handles_a_missing_final_newline(where: Where) -> None:
    writer = get("codex")
    path = place("codex", where)
    original = path.read_text()
    writer.connect(where, ENTRY)
    # The user adds a table after ours; a URL change then rewrites ours in place.
    path.write_text(path.read_text() + '\n[profiles.slow]\nmodel = "gpt-5"\n')
    moved = Entry("switchboard", url=URL + "x", headers=HEADERS)

    writer.connect(where, moved)

    text = path.read_text()
    assert text.index("[mcp_servers.switchboard]") < text.index("[profiles.slow]")
    assert tomllib.loads(text)["mcp_servers"]["switchboard"]["url"] == URL + "x"
    writer.disconnect(where, "switchboard")
    assert path.read_text() == original + '\n[profiles.slow]\nmodel = "gpt-5"\n'

    bare = place("codex", where, 'model = "o3"')
    writer.connect(where, ENTRY)
    assert tomllib.loads(bare.read_text())["model"] == "o3"
    writer.disconnect(where, "switchboard")
    assert tomllib.loads(bare.read_text()) == {"model": "o3"}


def test_codex_entry_written_inline_by_hand_is_updated_and_removed_by_tomlkit(where: Where) -> None:
    """No [mcp_servers.switchboard] header to cut: the edit falls back to tomlkit's structural edit."""
    text = (
        '# mine\n[mcp_servers]\ntime = { command = "uvx", args = ["mcp-server-time"] }\nswitchboard = { url = "old" }\n'
    )
    path = place("codex", where, text)

    get("codex").connect(where, ENTRY)
    assert tomllib.loads(path.read_text())["mcp_servers"]["switchboard"] == NATIVE_HTTP["codex"]
    assert path.read_text().startswith("# mine\n")
    get("codex").disconnect(where, "switchboard")

    assert tomllib.loads(path.read_text()) == {"mcp_servers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}}
    assert path.read_text().startswith("# mine\n")


def test_a_non_object_server_block_is_an_error_naming_the_key(where: Where) -> None:
    path = place("gemini", where, '{\n  "mcpServers": [\n    "github"\n  ]\n}\n')
    before = path.read_bytes()
    with pytest.raises(ClientFileError, match=r'line 2: "mcpServers" is a list; it must be an object') as caught:
        get("gemini").connect(where, ENTRY)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before

    toml = place("codex", where, 'mcp_servers = "none"\n')
    with pytest.raises(ClientFileError, match='"mcp_servers" is a string'):
        get("codex").servers(where)
    assert toml.read_text() == 'mcp_servers = "none"\n'


def test_a_big_app_written_claude_json_round_trips_exactly(where: Where) -> None:
    """~/.claude.json grows to megabytes of project history; it is what JSON.stringify(v, null, 2) makes."""
    data = json.loads((FIXTURES / "claude.json").read_text())
    for i in range(500):
        data["projects"][f"/home/zoë/src/p{i}"] = {
            "history": [{"display": f"step {j} — ok", "pastedContents": {}} for j in range(25)],
            "allowedTools": [],
            "lastCost": i / 7,
        }
    text = json.dumps(data, indent=2, ensure_ascii=False)
    assert len(text) > 1_000_000
    path = place("claude-code", where, text)

    get("claude-code").connect(where, ENTRY)
    assert json.loads(path.read_text())["projects"] == data["projects"]
    get("claude-code").disconnect(where, "switchboard")

    assert path.read_text() == text


def test_a_client_rewriting_its_file_meanwhile_is_not_overwritten(
    where: Where, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer re-reads the file just before replacing it. Here Cursor "saves" its file at exactly that
    moment (a real write to the real file, made from the re-read); the user's new server must survive."""
    import app.platform.clients.writer as writer_module

    place("cursor", where)
    real_read = writer_module.read_bytes
    calls = 0

    def read_while_cursor_saves(target: Path) -> bytes | None:
        nonlocal calls
        calls += 1
        if calls == 2:  # the check right before our write
            data = json.loads(target.read_text())
            data["mcpServers"]["saved-meanwhile"] = {"command": "uvx", "args": ["meanwhile"]}
            target.write_text(json.dumps(data, indent=4))
        return real_read(target)

    monkeypatch.setattr(writer_module, "read_bytes", read_while_cursor_saves)
    change = get("cursor").connect(where, ENTRY)

    assert change.changed
    assert list(get("cursor").servers(where)) == ["context7", "playwright", "saved-meanwhile", "switchboard"]
    assert change.backup is not None and "saved-meanwhile" in change.backup.read_text()


def test_a_file_where_a_folder_should_be_is_a_clear_error(where: Where) -> None:
    (where.home / ".cursor").write_text("not a folder")
    with pytest.raises(ClientFileError, match=r"\.cursor/mcp\.json cannot be read") as caught:
        get("cursor").connect(where, ENTRY)
    assert "\n" not in str(caught.value)
    assert (where.home / ".cursor").read_text() == "not a folder"


def test_status_for_each_state(where: Where) -> None:
    writer = get("windsurf")
    assert writer.status(where, "switchboard") == "no config file"
    place("windsurf", where)
    assert writer.status(where, "switchboard") == "not connected"
    writer.connect(where, ENTRY)
    assert writer.status(where, "switchboard") == "connected"
    assert writer.status(where, "sevalla") == "connected"


# -- installed, lookup, snippets ---------------------------------------------------------------------------


def test_installed_says_how_a_client_was_found(where: Where, tmp_path: Path) -> None:
    found, how = get("cursor").installed(where)
    assert not found and "~/.cursor" in how

    (where.home / ".cursor").mkdir()
    assert get("cursor").installed(where) == (True, "~/.cursor exists")

    claude = tmp_path / "bin" / "claude"
    claude.write_text("#!/bin/sh\n")
    claude.chmod(0o755)
    assert get("claude-code").installed(where) == (True, "claude on PATH")


def test_get_an_unknown_client_lists_the_known_ones() -> None:
    with pytest.raises(UnknownClientError) as caught:
        get("notepad")
    message = str(caught.value)
    assert "'notepad'" in message
    for client_id in ALL:
        assert client_id in message
    assert set(CLIENTS) == set(ALL)
    assert {w.title for w in CLIENTS.values()} >= {"Claude Desktop", "VS Code", "Codex CLI", "LM Studio"}
    assert get("cursor").tool_cap == 40 and get("windsurf").tool_cap == 50
    assert get("claude-desktop").restart_note == "Restart Claude Desktop to see the change."


def test_snippets_are_what_each_file_wants() -> None:
    generic = json.loads(snippet(None, ENTRY))
    assert generic == {"mcpServers": {"switchboard": {"url": URL, "headers": HEADERS}}}
    assert json.loads(snippet(None, STDIO_ONLY)) == {
        "mcpServers": {"switchboard": {"command": BRIDGE, "args": ["stdio"]}}
    }
    assert json.loads(snippet(get("vscode"), ENTRY)) == {"servers": {"switchboard": NATIVE_HTTP["vscode"]}}
    assert json.loads(snippet(get("zed"), ENTRY)) == {"context_servers": {"switchboard": NATIVE_HTTP["zed"]}}
    assert tomllib.loads(snippet(get("codex"), ENTRY)) == {"mcp_servers": {"switchboard": NATIVE_HTTP["codex"]}}
    assert json.loads(snippet(get("claude-desktop"), ENTRY)) == {
        "mcpServers": {"switchboard": {"command": BRIDGE, "args": ["stdio"]}}
    }


def test_an_entry_never_prints_its_header_values() -> None:
    shown = repr(ENTRY)
    assert "sb-test-key" not in shown and "Authorization" in shown


def test_the_cli_names_every_client_it_can_connect():
    """`connect --help` lists the ids from a constant (so serve and the bridge skip the writers' imports)."""
    from app.cli.clients import CLIENT_IDS
    from app.platform.clients import CLIENTS

    assert list(CLIENT_IDS) == list(CLIENTS)


def test_serving_does_not_load_the_client_writers():
    """`serve`, `start` and `stdio` parse the same CLI; only the client verbs need the writers and json5."""
    import subprocess
    import sys

    code = "import sys, app.cli, app.cli.serve; print('app.connect' in sys.modules, 'json5' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "False"]
