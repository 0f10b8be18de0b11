"""What a sign-in refuses, and the clients it signs in as: a wrong `state`, a redirect to another port, a code
without its PKCE verifier; a client registered ahead of time, a Client ID Metadata Document. Real
authorization and MCP servers on 127.0.0.1 (tests/gateway/oauth_servers.py); `sign_in` as `login` runs it."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import httpx2
import pytest

from app.config.models import RemoteServer
from app.gateway import SignInError, sign_in
from app.secrets import OAuthTokenStore
from tests.conftest import running, wait_for
from tests.gateway.oauth_servers import follow, protected_mcp, redirect_of

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_query(url: str, **changes: str) -> str:
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return urlunparse(parts._replace(query=urlencode(query)))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


async def test_an_answer_with_the_wrong_state_is_refused_and_the_real_one_still_signs_in(tmp_path):
    store = OAuthTokenStore(tmp_path)
    refused: list[httpx2.Response] = []

    async def browser(url: str) -> None:
        back = await redirect_of(url)  # where the authorization server sends the browser, with code and state
        async with httpx2.AsyncClient(timeout=30) as http:
            refused.append(await http.get(with_query(back, state="forged-" + query_of(back)["state"])))
            await http.get(back)

    async with protected_mcp() as server:
        signed = await sign_in("docs", RemoteServer(url=server.url), store, open_url=browser)
    assert refused[0].status_code == 400 and "state does not match" in refused[0].text
    assert server.auth.grants == ["authorization_code"]  # the code was exchanged once: for the real answer
    assert signed.issuer.rstrip("/") == server.auth.url and store.issuers("docs") == [signed.issuer]


async def test_only_wrong_states_mean_no_sign_in_at_all(tmp_path):
    store = OAuthTokenStore(tmp_path)

    async def browser(url: str) -> None:
        back = await redirect_of(url)
        async with httpx2.AsyncClient(timeout=30) as http:
            assert (await http.get(with_query(back, state="guess"))).status_code == 400
            assert (await http.get(with_query(back, state=""))).status_code == 400

    async with protected_mcp() as server:
        with pytest.raises(SignInError, match="No answer from the browser"):
            await sign_in("docs", RemoteServer(url=server.url), store, open_url=browser, timeout=1)
    assert server.auth.grants == []
    [issuer] = store.issuers("docs")  # the registration is kept for the next try; no tokens are
    assert json.loads(store.get("docs", issuer) or "{}")["tokens"] is None


async def test_a_redirect_to_another_port_is_refused(tmp_path):
    """The registration names exactly this sign-in's loopback URI, so the authorization server will not
    send the code anywhere else; and the listener refuses a request addressed to another port."""
    store = OAuthTokenStore(tmp_path)
    elsewhere = f"http://127.0.0.1:{free_port()}/callback"
    seen: dict[str, Any] = {}

    async def browser(url: str) -> None:
        ours = query_of(url)["redirect_uri"]
        seen["ours"] = ours
        async with httpx2.AsyncClient(timeout=30, follow_redirects=False) as http:
            diverted = await http.get(with_query(url, redirect_uri=elsewhere))
            seen["diverted"] = diverted
            back = await redirect_of(url)
            port = urlparse(ours).port
            seen["wrong_host"] = await http.get(back, headers={"Host": f"127.0.0.1:{port + 1}"})

    async with protected_mcp() as server:
        with pytest.raises(SignInError, match="No answer from the browser"):
            await sign_in("docs", RemoteServer(url=server.url), store, open_url=browser, timeout=1)
        [client] = server.auth.clients.values()
    assert [str(u) for u in client.redirect_uris or []] == [seen["ours"]]
    diverted = seen["diverted"]
    assert diverted.status_code == 400 and "location" not in diverted.headers  # no code went to the other port
    assert "redirect" in diverted.text.lower()
    assert seen["wrong_host"].status_code == 400
    assert server.auth.grants == []


async def test_a_code_without_its_pkce_verifier_is_refused(tmp_path):
    """A code caught on its way (another program on this machine, a browser extension) is useless without
    the verifier only Switchboard holds: the token endpoint refuses it without one, or with a wrong one."""
    store = OAuthTokenStore(tmp_path)
    answers: dict[str, httpx2.Response] = {}

    async def browser(url: str) -> None:
        assert query_of(url)["code_challenge_method"] == "S256" and len(query_of(url)["code_challenge"]) == 43
        back = await redirect_of(url)
        [client] = server.auth.clients.values()
        form = {"grant_type": "authorization_code", "code": query_of(back)["code"],
                "redirect_uri": query_of(url)["redirect_uri"], "client_id": client.client_id,
                "client_secret": client.client_secret or ""}
        async with httpx2.AsyncClient(timeout=30) as http:
            answers["none"] = await http.post(f"{server.auth.url}/token", data=form)
            answers["wrong"] = await http.post(f"{server.auth.url}/token", data=form | {"code_verifier": "x" * 64})
            await http.get(back)  # the real answer: Switchboard exchanges it with its verifier

    async with protected_mcp() as server:
        await sign_in("docs", RemoteServer(url=server.url), store, open_url=browser)
    assert answers["none"].status_code == 400 and answers["none"].json()["error"] == "invalid_request"
    assert answers["wrong"].status_code == 400 and answers["wrong"].json()["error"] == "invalid_grant"
    assert server.auth.grants == ["authorization_code"]  # only Switchboard's exchange got tokens


async def test_a_client_registered_ahead_of_time_signs_in_without_registering(gateway_factory, monkeypatch,
                                                                               memory_keyring):
    port = free_port()
    monkeypatch.setenv("SB_TEST_CLIENT_SECRET", "s3cret-of-the-client")
    async with protected_mcp(registration=False) as server:
        server.auth.preregister("switchboard-app", "s3cret-of-the-client", f"http://127.0.0.1:{port}/callback",
                                scope="read write")
        oauth = {"client_id": "switchboard-app", "client_secret": "${SB_TEST_CLIENT_SECRET}",
                 "redirect_port": port, "scopes": ["read", "write"]}
        entry = {"url": server.url, "oauth": oauth}
        gw = await gateway_factory({"docs": entry})
        await wait_for(lambda: gw.supervisors["docs"].state.value == "needs sign-in")

        async def browser(url: str) -> None:
            assert query_of(url)["client_id"] == "switchboard-app"
            assert query_of(url)["scope"] == "read write"
            await follow(url)

        await gw.sign_in("docs", browser)
        await wait_for(running(gw, "docs"))
        assert server.auth.registrations == 0
        assert "${SB_TEST_CLIENT_SECRET}" in gw.config_path.read_text()
    kept = " ".join(memory_keyring.passwords.values())
    assert "s3cret-of-the-client" not in kept  # it lives in the environment, never in the token store


async def test_a_client_id_metadata_document_is_used_where_the_server_supports_it(tmp_path):
    port = free_port()
    document = "https://switchboard.example/oauth/client.json"
    store = OAuthTokenStore(tmp_path)
    async with protected_mcp() as server:
        server.auth.documents[document] = [f"http://127.0.0.1:{port}/callback"]
        urls: list[str] = []

        async def browser(url: str) -> None:
            urls.append(url)
            await follow(url)

        config = RemoteServer(url=server.url, oauth={"client_metadata_url": document, "redirect_port": port})
        await sign_in("docs", config, store, open_url=browser)
    assert query_of(urls[0])["client_id"] == document
    assert server.auth.registrations == 0 and server.auth.grants == ["authorization_code"]
    [issuer] = store.issuers("docs")
    assert json.loads(store.get("docs", issuer) or "{}")["client"]["client_id"] == document


async def test_a_server_that_does_not_ask_is_not_signed_in_to(tmp_path):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from tests.gateway.oauth_servers import serve

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("hello")

    async with serve(Starlette(routes=[Route("/mcp", hello, methods=["POST", "DELETE"])])) as base:
        with pytest.raises(SignInError, match="did not ask for a sign-in"):
            await sign_in("open", RemoteServer(url=f"{base}/mcp"), OAuthTokenStore(tmp_path), open_url=print)


async def test_an_entry_with_its_own_authorization_header_is_not_signed_in_to(tmp_path):
    config = RemoteServer(url="http://127.0.0.1:9/mcp", headers={"Authorization": "Bearer mine"})
    with pytest.raises(SignInError, match="own Authorization header"):
        await sign_in("docs", config, OAuthTokenStore(Path(tmp_path)), open_url=print)


async def test_an_authorization_server_found_only_by_openid_connect_discovery_signs_in(tmp_path):
    store = OAuthTokenStore(tmp_path)
    async with protected_mcp(oidc_only=True) as server:
        async with httpx2.AsyncClient() as http:  # the OAuth metadata address answers nothing here
            assert (await http.get(f"{server.auth.url}/.well-known/oauth-authorization-server")).status_code == 404
        signed = await sign_in("docs", RemoteServer(url=server.url), store, open_url=follow)
    assert signed.issuer.rstrip("/") == server.auth.url and server.auth.grants == ["authorization_code"]
    assert server.auth.registrations == 1  # found the registration endpoint in the OpenID metadata
