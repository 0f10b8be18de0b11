"""`switchboard login` / `logout` as a user runs them beside a background gateway: real `switchboard`
processes (the daemon, the CLI) on 127.0.0.1 port 0, a real authorization server and protected MCP server
(tests/gateway/oauth_servers.py, on a loop of their own in this process), the browser step done by an HTTP
client following the URL `login --no-browser` prints. The fail keyring: tokens go to 0600 files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import anyio
import httpx2
from mcp import Client

from app.daemon.instance import running_instance
from tests.conftest import stdio_child
from tests.daemon.processes import home_config, no_leftovers, popen, switchboard, tree, wait_until
from tests.gateway.oauth_servers import Protected, protected_in_thread


def api_key(home: Path) -> str:
    return (home / "config" / "api-key").read_text().strip()


def status_of(home: Path) -> str:
    return switchboard("status", home=home).stdout


async def echo(url: str, key: str, text: str) -> str:
    async with Client(f"{url}?api_key={key}", mode="legacy") as client:
        result = await client.call_tool("docs__echo", {"text": text})
    return str(result.content[0].text)


def every_token(server: Protected) -> set[str]:
    seen = {h.removeprefix("Bearer ") for h in server.authorizations_seen() if h.startswith("Bearer ")}
    return seen | set(server.auth.issued_tokens())


def test_login_signs_the_running_gateway_in_and_logout_signs_it_out(isolated_home: Path) -> None:
    home = isolated_home
    with protected_in_thread(scopes=["read", "write"]) as server, no_leftovers() as watched:
        home_config(home, {"docs": {"url": server.url}})
        assert switchboard("start", home=home).returncode == 0
        info = running_instance(home / "state")
        assert info is not None and info.url
        watched.watch(tree(info.pid))

        wait_until(lambda: "docs: needs sign-in" in status_of(home), "docs to need a sign-in")
        line = next(x for x in status_of(home).splitlines() if "docs:" in x)
        assert f"sign in at {server.auth.url}/ for read write: switchboard login docs" in line
        health = json.loads(switchboard("health", "--json", home=home).stdout)
        assert health["children"]["docs"]["sign_in"]["scopes"] == ["read", "write"]

        login = popen("login", "docs", "--no-browser", "--timeout", "60", home=home)
        assert login.stdout is not None
        url = login.stdout.readline().strip()  # the address alone on stdout
        assert url.startswith(f"{server.auth.url}/authorize?") and "code_challenge_method=S256" in url
        with httpx2.Client(timeout=30, follow_redirects=True) as browser:
            assert browser.get(url).status_code == 200  # the listener's "you can close this tab"
        rest, err = login.communicate(timeout=60)
        assert login.returncode == 0 and rest == "", err
        assert f"Signed in to docs at {server.auth.url}/ with the scopes read write." in err
        assert f"The running Switchboard (pid {info.pid}) is reconnecting docs." in err

        wait_until(lambda: "docs: running, 1 tool" in status_of(home), "the daemon to connect docs, no restart")
        assert anyio.run(echo, info.url, api_key(home), "through the daemon") == "docs: through the daemon"
        assert api_key(home) not in json.dumps(server.seen)  # the client's key never reaches the server
        kept = list((home / "config" / "oauth").glob("*.json"))
        assert kept and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in kept)
        assert stat.S_IMODE((home / "config" / "oauth").stat().st_mode) == 0o700

        logout = switchboard("logout", "docs", home=home)
        assert logout.returncode == 0, logout.stderr
        assert "Forgot the sign-in of docs" in logout.stderr and "is reconnecting docs" in logout.stderr
        wait_until(lambda: "docs: needs sign-in" in status_of(home), "docs to need a sign-in again")
        assert not list((home / "config" / "oauth").glob("*.json"))
        assert switchboard("stop", home=home).returncode == 0

    # The tokens reached the server and the token files, and nothing else the daemon wrote: config, log, history.
    tokens = every_token(server)
    assert tokens
    written = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    assert any(p.name == "history.sqlite3" for p in written) and any(p.suffix == ".log" for p in written)
    for path, data in written.items():
        for token in tokens:
            assert token.encode() not in data, f"a token in {path}"


def test_login_refuses_what_it_cannot_sign_in_to_with_one_sentence(isolated_home: Path) -> None:
    home = isolated_home
    home_config(home, {"local": stdio_child("toy.py"), "own": {"url": "http://127.0.0.1:9/mcp",
                                                                "headers": {"Authorization": "Bearer mine"}}})
    cases = {
        "nope": "switchboard: There is no server named 'nope' in",
        "local": "switchboard: 'local' is a local command; only remote servers",
        "own": "switchboard: own is sent its own Authorization header from the config",
    }
    for name, sentence in cases.items():
        done = switchboard("login", name, "--no-browser", home=home)
        assert done.returncode == 1 and done.stderr.startswith(sentence), done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
    gone = switchboard("logout", "nope", home=home)
    assert gone.returncode == 0 and "There was no sign-in kept for nope." in gone.stderr
