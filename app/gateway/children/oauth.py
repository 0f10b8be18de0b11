"""OAuth for remote children, in the background: the httpx Auth each connection of a remote child uses.

It offers the child's kept tokens (refreshed ahead of expiry and on a 401), and when the server asks
for a sign-in only the user can give, it raises SignInRequired: the supervisor then shows the child as
`needs sign-in` and waits, rather than retrying. Each child has its own record and its own Auth, bound
to its own URL: no child's token is ever offered to another, and a client's credentials never reach
a child (the transport sends only the child's configured headers and this Auth's token).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata
from pydantic import AnyUrl

from app import __version__
from app.config.models import RemoteServer
from app.gateway.children.model import SignInChallenge
from app.gateway.children.tokens import SignInRecord, StoredSignIn, TokenStore, load_record
from app.gateway.sdk.oauth import ChildOAuth

log = logging.getLogger(__name__)

CLIENT_NAME = "Switchboard"
PLACEHOLDER_REDIRECT = "http://127.0.0.1/callback"  # the background never redirects; the SDK wants one


def client_metadata(config: RemoteServer, redirect_uri: str) -> OAuthClientMetadata:
    """What Switchboard registers as: a native app with a loopback redirect, code + refresh grants."""
    scopes = config.oauth.scopes if config.oauth else None
    return OAuthClientMetadata(
        redirect_uris=[AnyUrl(redirect_uri)],
        client_name=CLIENT_NAME,
        software_id="switchboard",
        software_version=__version__,
        grant_types=["authorization_code", "refresh_token"],
        scope=" ".join(scopes) if scopes else None,
    )


def configured_client(config: RemoteServer, redirect_uri: str | None) -> OAuthClientInformationFull | None:
    """The client registered ahead of time (`oauth.client_id` in the config), if there is one."""
    oauth = config.oauth
    if oauth is None or oauth.client_id is None:
        return None
    return OAuthClientInformationFull(
        client_id=oauth.client_id,
        client_secret=oauth.client_secret,
        token_endpoint_auth_method="client_secret_post" if oauth.client_secret else "none",
        redirect_uris=[AnyUrl(redirect_uri)] if redirect_uri else None,
        grant_types=["authorization_code", "refresh_token"],
    )


async def read_record(store: TokenStore | None, server: str, resource: str) -> SignInRecord | None:
    """The kept sign-in of `server` for `resource`, read off the loop; None when there is none or the
    store cannot be read (said in the log: the child then asks for a sign-in)."""
    if store is None:
        return None
    try:
        return await anyio.to_thread.run_sync(load_record, store, server, resource)
    except Exception as exc:
        log.warning("Could not read the kept sign-in of server %s (%s).", server, exc)
        return None


class ChildCredentials:
    """Builds each remote child's background Auth from the token store the composition root handed over
    (None: nothing is kept, and a server that asks for OAuth just shows `needs sign-in`)."""

    def __init__(self, store: TokenStore | None) -> None:
        self.store = store

    async def auth_for(
        self, name: str, config: RemoteServer, on_challenge: Callable[[SignInChallenge], None]
    ) -> ChildOAuth | None:
        """None when OAuth does not apply (the entry sends its own Authorization header)."""
        if not config.signs_in:
            return None
        record = await read_record(self.store, name, config.url) or SignInRecord(config.url)
        redirect = _registered_redirect(record) or PLACEHOLDER_REDIRECT
        stored = StoredSignIn(self.store, name, record, configured_client(config, redirect))
        return ChildOAuth(
            config.url,
            client_metadata(config, redirect),
            stored,
            client_metadata_url=config.oauth.client_metadata_url if config.oauth else None,
            scopes=config.oauth.scopes if config.oauth else None,
            on_challenge=on_challenge,
        )


def _registered_redirect(record: SignInRecord) -> str | None:
    client = record.client
    if client is None or not client.redirect_uris:
        return None
    return str(client.redirect_uris[0])
