"""A sign-in that cannot succeed ends with one sentence, no traceback and no hang: an authorization server
that does not answer, a denied consent; and a server whose sign-in could not be renewed waits for a new
one while the other servers keep working. Real servers on 127.0.0.1 (tests/gateway/oauth_servers.py)."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from app.config.models import RemoteServer
from app.gateway import GatewayError, SignInError, sign_in
from app.secrets import OAuthTokenStore
from tests.conftest import running, wait_for
from tests.gateway.oauth_servers import AuthServer, follow, protected_mcp

pytestmark = pytest.mark.anyio


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


async def test_an_authorization_server_that_does_not_answer_is_named_in_one_sentence(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    nowhere = AuthServer(url=f"http://127.0.0.1:{closed_port()}")
    opened: list[str] = []
    async with protected_mcp(auth=nowhere) as server:
        with pytest.raises(SignInError) as caught:
            await sign_in("docs", RemoteServer(url=server.url), OAuthTokenStore(tmp_path), open_url=opened.append,
                          timeout=5)
    sentence = str(caught.value)
    assert sentence.startswith("Cannot reach the authorization server of docs") and nowhere.url in sentence, sentence
    assert "\n" not in sentence and opened == []  # no browser opened for a sign-in that cannot happen
    assert not any(r.exc_info for r in caplog.records)


async def test_a_denied_consent_says_the_server_refused_and_keeps_no_tokens(tmp_path):
    store = OAuthTokenStore(tmp_path)
    async with protected_mcp() as server:
        server.auth.denies = True
        answers: list[Any] = []

        async def browser(url: str) -> None:
            answers.append(await follow(url))

        with pytest.raises(SignInError, match=r"^The authorization server refused the sign-in \(access_denied: "
                                              r"The user denied access\)\.$"):
            await sign_in("docs", RemoteServer(url=server.url), store, open_url=browser, timeout=30)
    assert answers[0].status_code == 400 and "The user denied access" in answers[0].text
    assert server.auth.grants == []
    for issuer in store.issuers("docs"):  # the registration may be kept for the next try; no tokens are
        assert json.loads(store.get("docs", issuer) or "{}")["tokens"] is None


async def test_a_sign_in_that_cannot_be_renewed_waits_while_the_other_servers_keep_working(gateway_factory):
    async with protected_mcp("docs") as docs, protected_mcp("wiki") as wiki:
        gw = await gateway_factory({"docs": {"url": docs.url}, "wiki": {"url": wiki.url}})
        for name in ("docs", "wiki"):
            await wait_for(lambda n=name: gw.supervisors[n].state.value == "needs sign-in")
            await gw.sign_in(name, follow)
        await wait_for(running(gw, "docs", "wiki"))
        docs.auth.expire_access_tokens()
        docs.auth.revoke_refresh_tokens()
        async with Client(gw.url, mode="legacy") as client:
            with pytest.raises(MCPError, match=r"docs.*sign-in"):
                await client.call_tool("docs__echo", {"text": "x"})
            result = await client.call_tool("wiki__echo", {"text": "still here"})
        assert result.content[0].text == "wiki: still here"
        await wait_for(lambda: gw.supervisors["docs"].state.value == "needs sign-in")
        assert gw.supervisors["wiki"].state.value == "running"
        # Each server was sent only its own tokens: none of docs' reached wiki, nor wiki's docs.
        docs_tokens = {h for h in docs.authorizations_seen() if h}
        wiki_tokens = {h for h in wiki.authorizations_seen() if h}
        assert docs_tokens and wiki_tokens and not docs_tokens & wiki_tokens


async def test_a_sign_in_for_an_unknown_or_local_server_is_refused(gateway_factory):
    from tests.conftest import stdio_child

    gw = await gateway_factory({"local": stdio_child("toy.py")})
    with pytest.raises(GatewayError, match="'local' is a local command"):
        await gw.sign_in("local", print)
    with pytest.raises(GatewayError, match="no server named 'nope'"):
        await gw.sign_in("nope", print)
