"""OAuth 2.1 for remote children, end to end: a real authorization server and a real protected MCP server
on 127.0.0.1 (the SDK's server-side auth), a real gateway, the browser step done by an HTTP client."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from app.gateway import GatewayError
from tests.conftest import running, wait_for
from tests.gateway.oauth_servers import Protected, follow, protected_mcp

pytestmark = pytest.mark.anyio


def state(gw: Any, name: str) -> str:
    return gw.supervisors[name].state.value


def needs_sign_in(gw: Any, name: str) -> Any:
    return lambda: name in gw.supervisors and state(gw, name) == "needs sign-in"


class Browser:
    """Follows each authorization URL it is handed, as the user's browser would; remembers them."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.answers: list[httpx2.Response] = []

    async def __call__(self, url: str) -> None:
        self.urls.append(url)
        async with anyio.create_task_group() as tg:  # the browser runs beside the waiting sign-in
            tg.start_soon(self._go, url)

    async def _go(self, url: str) -> None:
        self.answers.append(await follow(url))


async def echo(gw: Any, tool: str, text: str) -> str:
    async with Client(gw.url, mode="legacy") as client:
        result = await client.call_tool(tool, {"text": text})
    assert not result.is_error, result
    return result.content[0].text


async def signed_in_gateway(gateway_factory: Any, server: Protected, name: str = "docs") -> Any:
    gw = await gateway_factory({name: {"url": server.url}})
    await wait_for(needs_sign_in(gw, name), what=f"{name} to need a sign-in")
    await gw.sign_in(name, Browser())
    await wait_for(running(gw, name), what=f"{name} to run once signed in")
    return gw


async def test_a_server_that_asks_for_oauth_needs_a_sign_in_then_runs_and_refreshes(
    gateway_factory, memory_keyring, isolated_home, caplog
):
    caplog.set_level(logging.DEBUG)
    async with protected_mcp(scopes=["read", "write"]) as server:
        gw = await gateway_factory({"docs": {"url": server.url}})
        await wait_for(needs_sign_in(gw, "docs"), what="docs to need a sign-in")
        health = gw.health()["children"]["docs"]
        assert health["state"] == "needs sign-in"
        assert health["sign_in"]["issuer"].rstrip("/") == server.auth.url
        assert health["sign_in"]["scopes"] == ["read", "write"]
        assert gw.health()["status"] == "degraded"
        assert server.auth.registrations == 0  # nothing is registered until the user signs in

        browser = Browser()
        signed = await gw.sign_in("docs", browser)
        assert signed.scopes == ("read", "write")
        [url] = browser.urls
        assert "code_challenge_method=S256" in url and "state=" in url
        assert browser.answers[0].status_code == 200  # the listener's "you can close this tab"
        await wait_for(running(gw, "docs"), what="docs to run once signed in")
        assert await echo(gw, "docs__echo", "hello") == "docs: hello"

        # The access token is refused before its time: refreshed on the 401, and the call still works.
        server.auth.expire_access_tokens()
        assert await echo(gw, "docs__echo", "again") == "docs: again"
        assert server.auth.grants == ["authorization_code", "refresh_token"]
        assert state(gw, "docs") == "running"

        # The refresh token is revoked too: the next call cannot be made, and the server waits for a sign-in.
        server.auth.expire_access_tokens()
        server.auth.revoke_refresh_tokens()
        async with Client(gw.url, mode="legacy") as client:
            with pytest.raises(MCPError, match=r"docs.*sign-in .*expired"):
                await client.call_tool("docs__echo", {"text": "no"})
        await wait_for(needs_sign_in(gw, "docs"), what="docs to need a sign-in again")
        assert gw.health()["children"]["docs"]["sign_in"]["expired"] is True
        assert "expired" in gw.supervisors["docs"].error

        # The keyring holds the tokens; the config file, the logs and the history do not.
        tokens = set(server.auth.issued_tokens()) | _every_token_seen(server)
        kept = " ".join(memory_keyring.passwords.values())
        assert any(token in kept for token in _every_token_seen(server))
        config_text = gw.config_path.read_text()
        logged = "\n".join(r.getMessage() for r in caplog.records)
        for token in tokens:
            assert token not in config_text
            assert token not in logged
        # The history (and every other file under SWITCHBOARD_HOME): once it holds the calls, no token.
        await wait_for(lambda: b"docs: again" in _home_bytes(isolated_home), what="the calls to reach the history")
        for token in tokens:
            assert token.encode() not in _home_bytes(isolated_home)


def _home_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())


def _every_token_seen(server: Protected) -> set[str]:
    return {h.removeprefix("Bearer ") for h in server.authorizations_seen() if h.startswith("Bearer ")}


async def test_a_token_is_refreshed_before_it_expires(gateway_factory):
    async with protected_mcp(access_lifetime=2) as server:
        gw = await signed_in_gateway(gateway_factory, server)
        record = gw.supervisors["docs"]
        assert await echo(gw, "docs__echo", "one") == "docs: one"
        kept = _kept_record(gw, "docs")
        await wait_for(lambda: time.time() >= kept["expires_at"] - 1.0,
                       what="the token to be within its refresh margin")
        assert await echo(gw, "docs__echo", "two") == "docs: two"
        assert "refresh_token" in server.auth.grants
        assert record.state.value == "running"


def _kept_record(gw: Any, name: str) -> dict[str, Any]:
    store = gw.tokens
    [issuer, *_] = store.issuers(name)
    return json.loads(store.get(name, issuer))


async def test_a_sign_in_survives_a_restart_of_the_gateway(gateway_factory, tmp_path):
    async with protected_mcp() as server:
        gw = await signed_in_gateway(gateway_factory, server)
        await gw.stop()
        server.auth.expire_access_tokens()  # the next start must refresh, at the real token endpoint
        again = await gateway_factory({"docs": {"url": server.url}})
        await wait_for(running(again, "docs"), what="docs to run with the kept sign-in")
        assert await echo(again, "docs__echo", "back") == "docs: back"
        assert server.auth.grants == ["authorization_code", "refresh_token"]


async def test_signing_out_forgets_the_tokens_and_the_server_waits_for_a_new_sign_in(gateway_factory,
                                                                                     memory_keyring):
    async with protected_mcp() as server:
        gw = await signed_in_gateway(gateway_factory, server)
        await gw.sign_out("docs")
        await wait_for(needs_sign_in(gw, "docs"))
        assert not any(k[1].startswith("oauth:docs@") for k in memory_keyring.passwords)
        assert gw.tokens.issuers("docs") == []


async def test_a_sign_in_that_nobody_finishes_is_abandoned_and_says_so(gateway_factory):
    async with protected_mcp() as server:
        gw = await gateway_factory({"docs": {"url": server.url}})
        await wait_for(needs_sign_in(gw, "docs"))
        urls: list[str] = []
        with pytest.raises(GatewayError, match=r"No answer from the browser within 0\.5 s"):
            await gw.sign_in("docs", urls.append, timeout=0.5)
        assert len(urls) == 1 and state(gw, "docs") == "needs sign-in"
