"""Signing in to a remote server, interactively: the SDK's whole OAuth flow with a loopback redirect.

The SDK does protected resource metadata discovery, authorization server metadata (OAuth, then OIDC
discovery), PKCE S256, a Client ID Metadata Document or dynamic registration where the server offers
one (a pre-registered client from the config where it does not), the `state` check and the token
exchange. This module gives it the loopback listener, opens the authorization URL (through `open_url`:
the browser, or printed for the user), waits for the redirect (bounded) and keeps the result in the
token store. It runs on any event loop: the gateway's (the Sign in button) or the CLI's own (`login`).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import anyio
import httpx2
from mcp.client.auth import OAuthFlowError
from mcp_types import LATEST_PROTOCOL_VERSION

from app import __version__
from app.config.models import RemoteServer
from app.gateway.children.loopback import CALLBACK_PATH, HOST, LoopbackRedirect, SignInError, bind_loopback
from app.gateway.children.oauth import client_metadata, configured_client, read_record
from app.gateway.children.tokens import SignInRecord, StoredSignIn, TokenStore
from app.gateway.errors import GatewayError
from app.gateway.sdk.http_client import create_mcp_http_client
from app.gateway.sdk.oauth import ChildOAuth

log = logging.getLogger(__name__)

SIGN_IN_TIMEOUT_S = 300.0  # how long the browser step may take
HANDSHAKE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "switchboard", "version": __version__}},
}
OpenUrl = Callable[[str], Awaitable[None] | None]


@dataclass(frozen=True)
class SignedIn:
    server: str
    issuer: str
    scopes: tuple[str, ...]
    expires_at: float | None

    def sentence(self) -> str:
        scopes = f" with the scopes {' '.join(self.scopes)}" if self.scopes else ""
        return f"Signed in to {self.server} at {self.issuer}{scopes}."


async def sign_in(
    name: str,
    config: RemoteServer,
    store: TokenStore,
    *,
    open_url: OpenUrl,
    timeout: float = SIGN_IN_TIMEOUT_S,
) -> SignedIn:
    """Sign in to the remote server `name` and keep its tokens in `store`. `open_url(url)` is called once
    with the authorization URL (open a browser, or print it). Raises SignInError, a sentence."""
    if not config.signs_in:
        raise SignInError(f"{name} is sent its own Authorization header from the config, so there is nothing to "
                          "sign in to; remove that header to sign in with OAuth instead.")
    kept = await read_record(store, name, config.url)
    preregistered = config.oauth is not None and config.oauth.client_id is not None
    reusable = kept.client if kept is not None and not preregistered else None  # a registration made before
    pinned = config.oauth.redirect_port if config.oauth else None
    sock = _bind(pinned or _port_of(reusable), pinned=pinned is not None)
    async with LoopbackRedirect.open(sock) as loopback:
        if reusable is not None and _port_of(reusable) != loopback.port:
            reusable = None  # registered with another port, which is taken now: register again
        stored = StoredSignIn(store, name, SignInRecord(config.url, client=reusable),
                              configured_client(config, loopback.uri))

        async def redirect(url: str) -> None:
            loopback.expect(url)
            log.info("Signing in to server %s: waiting for the browser (up to %g s)", name, timeout)
            opened = open_url(url)
            if inspect.isawaitable(opened):
                await opened

        async def callback() -> Any:
            return await loopback.wait(timeout)

        provider = ChildOAuth(
            config.url, client_metadata(config, loopback.uri), stored, interactive=True,
            redirect_handler=redirect, callback_handler=callback,
            client_metadata_url=config.oauth.client_metadata_url if config.oauth else None,
            scopes=config.oauth.scopes if config.oauth else None,
        )
        status = await _handshake(name, config, provider)
    record = stored.record
    if record.tokens is None:
        if status in (401, 403):
            raise SignInError(f"{name} refused the sign-in (HTTP {status}).")
        raise SignInError(f"{name} did not ask for a sign-in (it answered HTTP {status}); it works without one.")
    if stored.save_error is not None:
        raise SignInError(f"Signed in to {name}, but the tokens could not be kept: {stored.save_error}")
    await _forget_other_issuers(store, name, record.issuer)
    return SignedIn(name, record.issuer, tuple(record.scopes), record.expires_at)


async def sign_out(name: str, store: TokenStore) -> None:
    """Forget every kept sign-in of `name` (tokens and registration). Raises what the store raises."""
    await anyio.to_thread.run_sync(store.delete, name, None)


def _bind(port: int | None, *, pinned: bool) -> socket.socket:
    """The loopback port the registration uses if it is free, else a free one (a new registration)."""
    try:
        return bind_loopback(port or 0)
    except GatewayError as exc:
        if exc.kind != "port_in_use" or not port:
            raise SignInError(f"Cannot listen for the sign-in answer on {HOST}: {exc.problem}") from None
        if pinned:
            raise SignInError(f"Port {port} on {HOST} is in use, and the client in the config (oauth.redirect_port) "
                              "was registered with it. Close what uses it and try again.") from None
    try:
        return bind_loopback(0)
    except GatewayError as exc:
        raise SignInError(f"Cannot listen for the sign-in answer on {HOST}: {exc.problem}") from None


def _port_of(client: Any) -> int | None:
    """The loopback port a kept registration was made with (its redirect URI), if it is one of ours."""
    if client is None or not client.redirect_uris:
        return None
    uri = urlparse(str(client.redirect_uris[0]))
    if uri.hostname != HOST or uri.path != CALLBACK_PATH:
        return None
    return uri.port


async def _handshake(name: str, config: RemoteServer, provider: ChildOAuth) -> int:
    """One MCP request that the server must authorize: the SDK's auth runs the whole flow around it."""
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": LATEST_PROTOCOL_VERSION}
    try:
        async with create_mcp_http_client(headers=config.headers or None, auth=provider) as http:
            response = await http.post(config.url, json=HANDSHAKE, headers=headers)
            session = response.headers.get("mcp-session-id")
            if session:  # leave nothing open on the server
                with contextlib.suppress(httpx2.HTTPError):
                    await http.delete(config.url, headers={**headers, "Mcp-Session-Id": session})
            return response.status_code
    except SignInError:
        raise
    except OAuthFlowError as exc:
        raise SignInError(f"Signing in to {name} failed: {exc}") from None
    except httpx2.TransportError as exc:
        raise SignInError(_unreachable(name, config.url, exc)) from None


def _unreachable(name: str, url: str, exc: httpx2.TransportError) -> str:
    """Which of the servers a sign-in talks to did not answer: the MCP server, or its authorization server."""
    why = str(exc) or type(exc).__name__
    try:
        failed = exc.request.url
    except RuntimeError:  # no request attached: it can only be the server itself
        return f"Cannot reach {url} ({why})."
    ours = urlparse(url)
    if (failed.scheme, failed.host, failed.port or None) == (ours.scheme, ours.hostname, ours.port or None):
        return f"Cannot reach {url} ({why})."
    where = f"{failed.scheme}://{failed.netloc.decode('ascii', 'replace')}"
    return (f"Cannot reach the authorization server of {name} at {where} ({why}); check that it is up and "
            "that this machine may reach it, then sign in again.")


async def _forget_other_issuers(store: TokenStore, name: str, issuer: str) -> None:
    """A server that moved to another authorization server: the old one's record is of no use now."""
    try:
        for other in await anyio.to_thread.run_sync(store.issuers, name):
            if other != issuer:
                await anyio.to_thread.run_sync(store.delete, name, other)
    except Exception as exc:
        log.warning("Could not forget the older sign-ins of server %s (%s).", name, exc)
