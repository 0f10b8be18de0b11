"""`switchboard connect / disconnect / clients / import` as a user runs them: a real process per command, in a
throwaway HOME with real-shaped client files (tests/platform/fixtures), and a real gateway where it matters.

Every process gets HOME and SWITCHBOARD_HOME pointing at the test's folders and the failing keyring backend
(a key that needs the keyring falls back to the 0600 file, as on a machine without one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import anyio
import httpx2
import json5
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from app import paths
from app.config import read
from app.daemon.instance import InstanceLock, RuntimeInfo
from app.platform.clients import CLIENTS, Where
from app.platform.clients.safe_write import BACKUP_SUFFIX
from app.secrets.client_keys import digest
from tests.conftest import demo_child, running, wait_for, write_config

FIXTURES = Path(__file__).parent / "fixtures"
MANY_TOOLS = Path(__file__).parent / "servers" / "many_tools.py"
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
ALL = list(FIXTURE_OF)
HTTP_CLIENTS = [c for c in ALL if CLIENTS[c].http]
PORT = 47931  # written into config files and client entries, never bound: no gateway runs in these tests
URL = f"http://127.0.0.1:{PORT}/mcp"
# How each client's own format spells the URL and the headers of a remote entry.
URL_KEY = {"windsurf": "serverUrl", "gemini": "httpUrl"}
HEADERS_KEY = {"codex": "http_headers"}


class User:
    """A new user's machine: a HOME with client files, Switchboard's folders, and the `switchboard` command."""

    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "user"
        self.home.mkdir()
        self.switchboard_home = Path(os.environ["SWITCHBOARD_HOME"])  # the test's own (tests/conftest.py)
        self.config = paths.default_config_path()
        self.where = Where(home=self.home, env={}, system="linux")
        self.cwd = tmp_path  # not the repository: the command must work from anywhere

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "SWITCHBOARD_HOME": str(self.switchboard_home),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "LANG": "C.UTF-8",
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            env=self.env(),
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=90,
        )

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, f"switchboard {' '.join(args)} failed: {done.stderr}"
        assert "Traceback" not in done.stderr
        return done.stdout

    async def aok(self, *args: str) -> str:
        """ok() from a worker thread, so the gateway on this test's loop answers the process meanwhile."""
        return await anyio.to_thread.run_sync(lambda: self.ok(*args))

    def fails(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        message = done.stderr.strip()
        assert message.startswith("switchboard: ") and "\n" not in message, message
        return message.removeprefix("switchboard: ")

    def place(self, client_id: str, text: str | None = None) -> Path:
        path = CLIENTS[client_id].config_path(self.where)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() if text is not None else (FIXTURES / FIXTURE_OF[client_id]).read_bytes())
        return path

    def key_names(self) -> list[str]:
        """What `switchboard keys list` shows."""
        out = self.ok("keys", "list")
        return [line.split(":")[0] for line in out.splitlines() if line.strip()]

    def files_holding(self, secret: str) -> set[Path]:
        """Every file under HOME and Switchboard's folders that contains `secret`."""
        found = set()
        for root in (self.home, self.switchboard_home):
            for path in root.rglob("*"):
                if path.is_file() and secret.encode() in path.read_bytes():
                    found.add(path)
        return found


@pytest.fixture
def user(tmp_path: Path) -> User:
    person = User(tmp_path)
    write_config(person.config, {"demo": demo_child()}, port=PORT)
    return person


def parse(path: Path) -> dict[str, Any]:
    if path.suffix == ".toml":
        return tomllib.loads(path.read_text())
    return json5.loads(path.read_text())  # type: ignore[no-any-return]


def our_entry(client_id: str, path: Path) -> dict[str, Any]:
    node: Any = parse(path)
    for key in CLIENTS[client_id].container:
        node = node[key]
    return dict(node["switchboard"])


def url_and_headers(client_id: str, entry: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The entry read the way the client reads it: its own spelling of the URL and of the headers."""
    return entry[URL_KEY.get(client_id, "url")], dict(entry[HEADERS_KEY.get(client_id, "headers")])


def bearer(headers: dict[str, str]) -> str:
    assert set(headers) == {"Authorization"}
    scheme, key = headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    return key


# -- connect and disconnect, every client ------------------------------------------------------------------


@pytest.mark.parametrize("client_id", ALL)
def test_connect_twice_then_disconnect_through_the_cli(client_id: str, user: User) -> None:
    writer = CLIENTS[client_id]
    path = user.place(client_id)
    original = path.read_bytes()

    said = user.ok("connect", client_id)

    assert f"Connected {writer.title}: " in said
    assert f"kept in ~/{path.relative_to(user.home)}{BACKUP_SUFFIX}" in said
    entry = our_entry(client_id, path)
    if writer.http:
        url, headers = url_and_headers(client_id, entry)
        assert url == URL
        key = bearer(headers)
        assert user.key_names() == [client_id]
        assert [k.sha256 for k in read(user.config).config.gateway.client_keys] == [digest(key)]
        assert user.files_holding(key) == {path}  # not the backup, not Switchboard's config, not a log
        assert "Switchboard is not running" in said
    else:  # Claude Desktop: stdio only, so the bridge: this very Switchboard, by its absolute path
        assert entry == {"command": sys.executable, "args": ["-m", "app", "stdio"]}
        assert Path(entry["command"]).is_absolute()
        assert user.key_names() == []
        assert read(user.config).config.gateway.client_keys == []
    if writer.restart_note:
        assert writer.restart_note in said
    connected = path.read_bytes()
    mtime = path.stat().st_mtime_ns

    again = user.ok("connect", client_id)

    assert f"{writer.title} is already connected" in again and "nothing changed" in again
    assert path.read_bytes() == connected and path.stat().st_mtime_ns == mtime
    assert user.key_names() == ([client_id] if writer.http else [])

    gone = user.ok("disconnect", client_id)

    assert f"Disconnected {writer.title}" in gone
    assert path.read_bytes() == original
    assert user.key_names() == []
    if writer.http:
        assert f"Revoked its key '{client_id}'" in gone
        assert user.files_holding(key) == set()
    assert "was not connected" in user.ok("disconnect", client_id)


@pytest.mark.parametrize("client_id", HTTP_CLIENTS)
def test_via_stdio_writes_the_bridge_and_no_key_anywhere(client_id: str, user: User) -> None:
    path = user.place(client_id)
    original = path.read_bytes()

    said = user.ok("connect", client_id, "--via", "stdio")

    assert "no key is written in the file" in said
    entry = our_entry(client_id, path)
    assert entry["command"] == sys.executable and entry["args"] == ["-m", "app", "stdio"]
    assert not {"url", "serverUrl", "httpUrl", "headers", "http_headers"} & set(entry)
    assert read(user.config).config.gateway.client_keys == []  # no key made, so none can be in any file
    assert "api_key" not in json.dumps(entry)
    user.ok("disconnect", client_id)
    assert path.read_bytes() == original  # and the file held nothing of ours but that entry


def test_switching_an_http_entry_to_the_bridge_revokes_its_key(user: User) -> None:
    path = user.place("cursor")
    user.ok("connect", "cursor")
    key = bearer(our_entry("cursor", path)["headers"])

    said = user.ok("connect", "cursor", "--via", "stdio")

    assert "Revoked the key 'cursor' the old entry used." in said
    assert user.key_names() == [] and user.files_holding(key) == set()
    assert our_entry("cursor", path)["args"] == ["-m", "app", "stdio"]


def test_a_new_address_keeps_the_key_and_a_new_key_name_replaces_it(user: User) -> None:
    path = user.place("gemini")
    user.ok("connect", "gemini")
    key = bearer(our_entry("gemini", path)["headers"])
    write_config(user.config, {"demo": demo_child()}, port=PORT + 1,
                 client_keys=read(user.config).raw["gateway"]["client_keys"])

    said = user.ok("connect", "gemini")

    assert "it keeps its key 'gemini'" in said
    entry = our_entry("gemini", path)
    assert entry["httpUrl"] == f"http://127.0.0.1:{PORT + 1}/mcp" and bearer(entry["headers"]) == key
    assert user.key_names() == ["gemini"]

    said = user.ok("connect", "gemini", "--key-name", "laptop-gemini")
    assert "with its own key 'laptop-gemini'" in said and "Revoked the key 'gemini'" in said
    assert user.key_names() == ["laptop-gemini"]
    assert user.files_holding(key) == set()


def test_a_key_of_that_name_made_by_hand_is_never_taken_over(user: User) -> None:
    path = user.place("cursor")
    original = path.read_bytes()
    hand_made = user.ok("keys", "add", "cursor").strip()

    message = user.fails("connect", "cursor")

    assert "A key named 'cursor' already exists" in message and "--key-name" in message
    assert path.read_bytes() == original and user.key_names() == ["cursor"]
    assert user.files_holding(hand_made) == set()
    user.ok("connect", "cursor", "--key-name", "cursor-2")
    user.ok("disconnect", "cursor")
    assert user.key_names() == ["cursor"]  # disconnect revokes the key it made, not the user's


def test_a_write_that_fails_leaves_no_key_behind(user: User) -> None:
    """/proc refuses new folders (even to root): the key made for the entry must be revoked again."""
    message = user.fails("connect", "cursor", "--project", "/proc/1")

    assert "could not be written" in message and "/proc/1/.cursor/mcp.json" in message
    assert user.key_names() == []


def test_a_project_file_gets_its_own_key_and_a_warning(user: User, tmp_path: Path) -> None:
    project = tmp_path / "my-app"
    project.mkdir()
    user.ok("connect", "claude-code")

    said = user.ok("connect", "claude-code", "--project", str(project))

    assert "with its own key 'claude-code-my-app'" in said and "keep it out of version control" in said
    assert our_entry("claude-code", project / ".mcp.json")["type"] == "http"
    assert sorted(user.key_names()) == ["claude-code", "claude-code-my-app"]
    user.ok("disconnect", "claude-code", "--project", str(project))
    assert user.key_names() == ["claude-code"]


# -- files that do not parse ---------------------------------------------------------------------------------


@pytest.mark.parametrize("client_id", ["cursor", "zed", "codex"])
def test_a_broken_file_is_never_written_and_the_sentence_names_file_line_and_fix(client_id: str, user: User) -> None:
    good = (FIXTURES / FIXTURE_OF[client_id]).read_text().splitlines(keepends=True)
    bad_line = "broken = \n" if client_id == "codex" else '  "broken" true,\n'
    path = user.place(client_id, "".join([good[0], bad_line, *good[1:]]))
    before = path.read_bytes()

    for verb in (["connect", client_id], ["connect", client_id, "--replace"], ["disconnect", client_id],
                 ["import", client_id], ["connect", client_id, "--via", "stdio"]):
        message = user.fails(*verb)
        assert message.startswith(f"{path} line 2") and "unchanged" in message and "Fix the file" in message

    assert path.read_bytes() == before
    assert not path.with_name(path.name + BACKUP_SUFFIX).exists()
    assert user.key_names() == []  # no key made for an entry that could not be written
    listing = user.ok("clients")
    assert f"{client_id}: {path} line 2" in listing


# -- import and --replace ----------------------------------------------------------------------------------


def test_import_then_replace_round_trip_keeps_the_originals_in_the_backup(user: User) -> None:
    path = user.place("cursor")
    original = path.read_bytes()

    refused = user.fails("connect", "cursor", "--replace")
    assert "run `switchboard import cursor` first" in refused and "'context7', 'playwright'" in refused
    assert path.read_bytes() == original and user.key_names() == []

    said = user.ok("import", "cursor")

    assert "Imported from Cursor: context7, playwright." in said
    assert path.read_bytes() == original  # the client file is only read
    servers = read(user.config).raw["mcpServers"]
    assert servers["context7"] == {"url": "https://mcp.context7.com/mcp",
                                   "headers": {"CONTEXT7_API_KEY": "${CONTEXT7_API_KEY}"}}
    assert servers["playwright"] == {"command": "npx", "args": ["@playwright/mcp@latest"]}
    assert "Cursor's context7, playwright: already in Switchboard" in user.ok("import", "cursor")

    replaced = user.ok("connect", "cursor", "--replace")

    assert "Took Cursor's own servers out of the file (context7, playwright)" in replaced
    data = json.loads(path.read_text())
    assert list(data["mcpServers"]) == ["switchboard"]
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    assert backup.read_bytes() == original
    assert set(json.loads(backup.read_text())["mcpServers"]) == {"context7", "playwright"}
    assert "already connected" in user.ok("connect", "cursor", "--replace")

    gone = user.ok("disconnect", "cursor")
    assert json.loads(path.read_text()) == {"mcpServers": {}} and user.key_names() == []
    assert "took out (context7, playwright) are still in ~/.cursor/mcp.json.switchboard-backup" in gone


def test_import_every_client_detects_duplicates_and_conflicts_and_overwrites_nothing(user: User) -> None:
    ours = {"command": "uvx", "args": ["mcp-server-time", "--local-timezone", "UTC"]}
    write_config(user.config, {"demo": demo_child(), "time": ours}, port=PORT)
    files = {cid: user.place(cid) for cid in ("claude-code", "codex", "vscode", "zed")}
    before = {p: p.read_bytes() for p in files.values()}

    said = user.ok("import")

    servers = read(user.config).raw["mcpServers"]
    assert servers["time"] == ours  # Claude Code's and Codex's 'time' differ from ours: ours kept
    assert "Claude Code's 'time' differs from the 'time' Switchboard already has; Switchboard's was kept." in said
    assert "Codex CLI's 'time' differs" in said and "rename one of them" in said
    assert {"sentry", "asana", "docs", "github", "fetch", "postgres", "linear", "old-style"} <= set(servers)
    assert servers["sentry"]["headers"] == {"Authorization": "Bearer ${SENTRY_TOKEN}"}  # ${VAR} kept
    assert servers["docs"]["headers"]["Authorization"] == "Bearer ${DOCS_TOKEN}"  # Codex's bearer_token_env_var
    assert servers["old-style"]["enabled"] is False
    assert "VS Code's 'github'" not in said and "'github' uses ${input:github_token}" in said
    assert {p: p.read_bytes() for p in files.values()} == before

    again = user.ok("import")
    assert "Imported" not in again and "already in Switchboard with the same entry" in again
    assert read(user.config).raw["mcpServers"] == servers


def test_clients_lists_every_client_installed_or_not_connected_or_not(user: User) -> None:
    (user.home / ".cursor").mkdir()
    user.place("zed")
    user.ok("connect", "cursor")
    user.ok("connect", "claude-desktop")

    listed = {c["id"]: c for c in json.loads(user.ok("clients", "--json"))}

    assert list(listed) == ALL
    cursor, desktop, zed, codex = listed["cursor"], listed["claude-desktop"], listed["zed"], listed["codex"]
    assert (cursor["installed"], cursor["found"], cursor["connected"]) == (True, "~/.cursor exists", True)
    assert (cursor["via"], cursor["key_name"], cursor["restart_needed"]) == ("http", "cursor", False)
    assert cursor["config_path"] == str(user.home / ".cursor" / "mcp.json")
    assert (desktop["connected"], desktop["via"], desktop["restart_needed"]) == (True, "stdio", True)
    assert desktop["key_name"] is None
    assert (zed["installed"], zed["connected"], zed["state"]) == (True, False, "not connected")
    assert zed["new_servers"] == ["postgres", "linear", "old-style"]
    assert (codex["installed"], codex["state"]) == (False, "no config file")
    assert codex["found"].startswith("not found (looked for ~/.codex")

    text = user.ok("clients")
    header, *rows = text.splitlines()
    assert header.split() == ["CLIENT", "INSTALLED", "CONNECTED", "RESTART", "SERVERS", "CONFIG", "FILE"]
    cursor_row = next(r for r in rows if r.startswith("cursor "))
    assert "yes: ~/.cursor exists" in cursor_row and "yes (http, key cursor)" in cursor_row
    assert "zed (3)" in text  # servers Switchboard does not have yet


def test_an_unknown_client_is_one_sentence_listing_the_known_ones(user: User) -> None:
    message = user.fails("connect", "notepad")
    assert "'notepad'" in message and all(cid in message for cid in ALL)
    assert "Windsurf has no per-project config file" in user.fails("connect", "windsurf", "--project", "x")
    assert "--servers limits a per-client key" in user.fails("connect", "claude-desktop", "--servers", "demo")


# -- against a running gateway -------------------------------------------------------------------------------


@pytest.fixture
def published(tmp_path: Path) -> Any:
    """Publish a gateway the way a running Switchboard does (the instance lock and runtime.json), so the
    `switchboard` processes find its URL and config."""
    locks: list[InstanceLock] = []

    def publish(services: Any) -> None:
        lock = InstanceLock(paths.state_dir())
        gateway = services.gateway
        info = RuntimeInfo.for_this_process(mode="headless", config=services.config.path, url=gateway.url,
                                            port=gateway.port)
        assert lock.acquire(info) is None
        locks.append(lock)

    yield publish
    for lock in locks:
        lock.release()


async def call_as_the_client(url: str, headers: dict[str, str]) -> tuple[str, set[str]]:
    """A real MCP client given exactly the URL and headers the client's file holds, nothing else."""
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        tools = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool("demo__echo", {"text": "hi from the file"})
    return str(result.content[0].text), tools  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_every_http_entry_works_against_the_running_gateway_with_exactly_its_headers(
    secured_gateway: Any, published: Any, tmp_path: Path
) -> None:
    services = await secured_gateway({"demo": demo_child()})
    await wait_for(running(services, "demo"), timeout=30)
    published(services)
    user = User(tmp_path)

    for client_id in HTTP_CLIENTS:
        path = user.place(client_id)
        said = await user.aok("connect", client_id)
        assert services.gateway.url in said and "not running" not in said

        url, headers = url_and_headers(client_id, our_entry(client_id, path))
        assert url == services.gateway.url
        key = bearer(headers)
        await wait_for(lambda k=key: services.verifier.verify(k) is not None)  # the config change reached it
        assert services.verifier.verify(key).name == client_id  # type: ignore[union-attr]

        echoed, tools = await call_as_the_client(url, headers)
        assert echoed == "hi from the file" and "demo__echo" in tools

        await user.aok("disconnect", client_id)
        await wait_for(lambda k=key: services.verifier.verify(k) is None)  # revoked: refused from now on
        async with httpx2.AsyncClient(headers=headers, timeout=10) as http:
            assert (await http.post(url, json={})).status_code == 401


@pytest.mark.anyio
async def test_connect_says_when_the_catalog_is_over_a_clients_tool_cap(
    secured_gateway: Any, published: Any, tmp_path: Path
) -> None:
    many = {"command": sys.executable, "args": [str(MANY_TOOLS), "45"]}
    services = await secured_gateway({"demo": demo_child(), "many": many})
    await wait_for(running(services, "demo", "many"), timeout=30)
    published(services)
    user = User(tmp_path)
    path = user.place("cursor")
    tool_count = sum(len(s.lists.tools) for s in services.gateway.children())
    assert tool_count > 45

    said = await user.aok("connect", "cursor")

    assert f"Cursor uses only its first 40 tools, and Switchboard serves {tool_count} (many 45, demo " in said
    assert "`switchboard connect cursor --servers demo`" in said
    assert "first 50 tools" not in await user.aok("connect", "windsurf", "--servers", "demo")  # they fit

    limited = await user.aok("connect", "cursor", "--servers", "demo")

    assert "its key 'cursor' may now use only the servers demo" in limited  # the same key, now limited
    assert "first 40 tools" not in limited
    url, headers = url_and_headers("cursor", our_entry("cursor", path))
    await wait_for(lambda: services.verifier.verify(bearer(headers)).servers == {"demo"})  # type: ignore[union-attr]
    _, tools = await call_as_the_client(url, headers)
    assert tools and all(name.startswith("demo__") for name in tools)


def test_with_nothing_running_the_tool_count_is_unknown(user: User) -> None:
    said = user.ok("connect", "windsurf")
    assert "Windsurf uses only its first 50 tools; Switchboard is not running, so how many it serves is unknown" in said


def test_a_key_name_given_for_a_bridge_entry_goes_to_the_bridge_and_no_key_is_made(user: User) -> None:
    path = user.place("claude-desktop")

    user.ok("connect", "claude-desktop", "--key-name", "desk")

    assert our_entry("claude-desktop", path)["args"] == ["-m", "app", "stdio", "--key-name", "desk"]
    assert read(user.config).config.gateway.client_keys == []
