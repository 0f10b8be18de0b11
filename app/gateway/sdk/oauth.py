"""The SDK's OAuth client (`mcp.client.auth.OAuthClientProvider`, an httpx Auth) as a gateway needs it.

The SDK does discovery, PKCE, registration (Client ID Metadata Documents or dynamic), the token
exchange and the refresh of an expired token. What a gateway needs beyond a CLI client:
- a refresh ahead of expiry (the SDK refreshes only once a token has expired, and after a restart it
  does not know the expiry at all), and a refresh on a 401 before anything else (the SDK goes straight
  to a new authorization);
- in the background, no browser: where the SDK would start an authorization, `SignInRequired` is raised
  with what the server asks for (found with the SDK's own discovery helpers), and the child waits for
  the user instead;
- after a restart, the authorization server's metadata from the kept record, so a refresh reaches the
  real token endpoint (the SDK would fall back to the resource server's origin);
- configured scopes asked for instead of the announced ones.

Private seams, pinned by tests/gateway/test_sdk_seams.py: `OAuthClientProvider._auth_flow` (the flow
`RedirectAwareAuth` drives; this class drives it in turn), `OAuthClientProvider._perform_authorization`,
and the `OAuthContext` fields set here (oauth_metadata, protected_resource_metadata, auth_server_url,
token_expiry_time, client_metadata.scope).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth.utils import (
    build_protected_resource_metadata_discovery_urls,
    create_oauth_metadata_request,
    extract_field_from_www_auth,
    extract_resource_metadata_from_www_auth,
    extract_scope_from_www_auth,
    get_client_metadata_scopes,
    handle_protected_resource_response,
    union_scopes,
)
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

from app.gateway.children.model import SignInChallenge, SignInRequired
from app.gateway.children.tokens import Discovered, StoredSignIn


def asks_for_authorization(response: httpx2.Response) -> bool:
    """401, or 403 insufficient_scope (a step-up: more scopes need the user's consent)."""
    if response.status_code == 401:
        return True
    return response.status_code == 403 and extract_field_from_www_auth(response, "error") == "insufficient_scope"


class ChildOAuth(OAuthClientProvider):
    """One remote child's OAuth. `interactive`: the user is signing in now (the SDK's whole flow runs,
    through `redirect_handler` and `callback_handler`); else the background connection of a supervisor,
    which uses and refreshes kept tokens and raises SignInRequired where only the user can go on."""

    def __init__(
        self,
        server_url: str,
        client_metadata: OAuthClientMetadata,
        storage: StoredSignIn,
        *,
        interactive: bool = False,
        redirect_handler: Callable[[str], Awaitable[None]] | None = None,
        callback_handler: Callable[[], Awaitable[AuthorizationCodeResult]] | None = None,
        client_metadata_url: str | None = None,
        scopes: list[str] | None = None,
        on_challenge: Callable[[SignInChallenge], None] | None = None,
    ) -> None:
        super().__init__(server_url, client_metadata, storage, redirect_handler, callback_handler, client_metadata_url)
        self.stored = storage
        storage.attach(self.discovered)
        self.interactive = interactive
        self.scopes = scopes
        self.on_challenge = on_challenge

    def discovered(self) -> Discovered:
        context = self.context
        return Discovered(context.oauth_metadata, context.protected_resource_metadata, context.auth_server_url)

    def _restore(self) -> None:
        """What the kept record knows and this process has not discovered itself; the refresh-ahead time."""
        context, record = self.context, self.stored.record
        if context.oauth_metadata is None and record.metadata is not None:
            context.oauth_metadata = record.metadata
        if context.protected_resource_metadata is None and record.resource_metadata is not None:
            context.protected_resource_metadata = record.resource_metadata
            context.auth_server_url = str(record.resource_metadata.authorization_servers[0])
        if record.tokens is not None and record.refresh_at is not None:
            context.token_expiry_time = record.refresh_at  # the SDK refreshes a token it thinks expired

    async def _auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        self._restore()
        inner = super()._auth_flow(request)
        refreshed = False
        try:
            outgoing = await inner.__anext__()
            while True:
                response = yield outgoing
                if self.interactive or outgoing is not request or not asks_for_authorization(response):
                    outgoing = await inner.asend(response)
                    continue
                await inner.aclose()
                if response.status_code == 401 and not refreshed and self.context.can_refresh_token():
                    refreshed = True  # refused before its time (revoked, clock skew): refresh, then retry once
                    self.context.token_expiry_time = time.time() - 1
                    inner = super()._auth_flow(request)
                    outgoing = await inner.__anext__()
                    continue
                # Only the user can go on: find out what the server asks for, and say so.
                resource_metadata = self.context.protected_resource_metadata
                if resource_metadata is None:
                    where = extract_resource_metadata_from_www_auth(response)
                    for url in build_protected_resource_metadata_discovery_urls(where, self.context.server_url):
                        answer = yield create_oauth_metadata_request(url)
                        resource_metadata = await handle_protected_resource_response(answer)
                        if resource_metadata is not None:
                            break
                raise self._required(response, resource_metadata)
        except StopAsyncIteration:
            return
        finally:
            await inner.aclose()

    def _required(self, response: httpx2.Response, resource_metadata: Any) -> SignInRequired:
        record = self.stored.record
        if resource_metadata is not None:
            issuer = str(resource_metadata.authorization_servers[0])
        elif record.issuer:
            issuer = record.issuer
        else:  # a 2025-03-26 server: its own origin is the authorization server
            parsed = urlparse(self.context.server_url)
            issuer = f"{parsed.scheme}://{parsed.netloc}"
        asked = get_client_metadata_scopes(extract_scope_from_www_auth(response), resource_metadata)
        if response.status_code == 403:
            asked = union_scopes(" ".join(record.scopes) or None, asked)
        scopes = tuple(self.scopes) if self.scopes else tuple((asked or "").split())
        challenge = SignInChallenge(issuer, scopes, expired=record.tokens is not None and response.status_code == 401)
        self.stored.forget_tokens()
        if self.on_challenge is not None:
            self.on_challenge(challenge)
        return SignInRequired(challenge)

    async def _perform_authorization(self) -> httpx2.Request:
        if self.scopes:  # what the config asks for, instead of what the server announced
            self.context.client_metadata.scope = " ".join(self.scopes)
        return await super()._perform_authorization()
