"""A remote child's sign-in as it is kept: the tokens, the client registration and the authorization
server's metadata, bound to the server's URL and the issuer, in a token store the gateway is handed.

The gateway never reads the keyring itself (the composition root gives it a `TokenStore`); what it
keeps there is one JSON record per (server, issuer). The record is bound to the URL it was made for:
a config entry whose URL changed never gets the old server's tokens, so a child's token cannot reach
another server. The authorization server's metadata is kept too, because after a restart the SDK
would otherwise refresh at the resource server's origin instead of the real token endpoint.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlparse

import anyio
from mcp.shared.auth import OAuthClientInformationFull, OAuthMetadata, OAuthToken, ProtectedResourceMetadata

log = logging.getLogger(__name__)

REFRESH_AHEAD_S = 60.0  # refresh this long before the access token expires (at most half its lifetime)
RECORD_VERSION = 1


class TokenStore(Protocol):
    """Where sign-ins are kept (the OS keyring, else 0600 files), keyed by server name and issuer. The
    values are opaque JSON text to it. Every method blocks (keyring, disk): call it off the event loop."""

    def get(self, server: str, issuer: str) -> str | None: ...

    def set(self, server: str, issuer: str, value: str) -> None: ...

    def delete(self, server: str, issuer: str | None = None) -> None:
        """Forget one issuer's record, or (None) every record of the server."""
        ...

    def issuers(self, server: str) -> list[str]:
        """The issuers the server has a record for, the latest written first."""
        ...


@dataclass(frozen=True)
class Discovered:
    """What an OAuth flow has found out about the server's authorization so far."""

    metadata: OAuthMetadata | None
    resource_metadata: ProtectedResourceMetadata | None
    auth_server_url: str | None


@dataclass
class SignInRecord:
    resource: str  # the server URL these tokens were obtained for
    issuer: str = ""
    tokens: OAuthToken | None = None
    expires_at: float | None = None  # when the access token expires (epoch seconds), if the server said
    lifetime: float | None = None  # the access token's lifetime as issued
    client: OAuthClientInformationFull | None = None  # the registration (dynamic or by metadata document)
    metadata: OAuthMetadata | None = None  # the authorization server's metadata (its token endpoint)
    resource_metadata: ProtectedResourceMetadata | None = None
    signed_in_at: float = field(default_factory=time.time)

    @property
    def refresh_at(self) -> float | None:
        """When to refresh: REFRESH_AHEAD_S before expiry, or halfway for a short-lived token."""
        if self.expires_at is None:
            return None
        ahead = REFRESH_AHEAD_S if self.lifetime is None else min(REFRESH_AHEAD_S, self.lifetime / 2)
        return self.expires_at - ahead

    @property
    def scopes(self) -> list[str]:
        return (self.tokens.scope or "").split() if self.tokens else []

    def to_json(self) -> str:
        def dump(model: Any) -> Any:
            return None if model is None else model.model_dump(mode="json", exclude_none=True)

        return json.dumps({
            "v": RECORD_VERSION, "resource": self.resource, "issuer": self.issuer, "tokens": dump(self.tokens),
            "expires_at": self.expires_at, "lifetime": self.lifetime, "client": dump(self.client),
            "metadata": dump(self.metadata), "resource_metadata": dump(self.resource_metadata),
            "signed_in_at": self.signed_in_at,
        }, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SignInRecord:
        """Raises ValueError for anything that is not a record of this version."""
        raw = json.loads(text)
        if not isinstance(raw, dict) or raw.get("v") != RECORD_VERSION or not isinstance(raw.get("resource"), str):
            raise ValueError("not a sign-in record")

        def load(model: Any, key: str) -> Any:
            value = raw.get(key)
            return None if value is None else model.model_validate(value)

        return cls(
            resource=raw["resource"], issuer=str(raw.get("issuer") or ""), tokens=load(OAuthToken, "tokens"),
            expires_at=raw.get("expires_at"), lifetime=raw.get("lifetime"),
            client=load(OAuthClientInformationFull, "client"), metadata=load(OAuthMetadata, "metadata"),
            resource_metadata=load(ProtectedResourceMetadata, "resource_metadata"),
            signed_in_at=float(raw.get("signed_in_at") or 0.0),
        )


def load_record(store: TokenStore, server: str, resource: str) -> SignInRecord | None:
    """The latest record of `server` made for `resource` (its URL now), or None. Blocking."""
    for issuer in store.issuers(server):
        text = store.get(server, issuer)
        if not text:
            continue
        try:
            record = SignInRecord.from_json(text)
        except ValueError:  # never log the text: it holds tokens
            log.warning("The kept sign-in of server %s for %s cannot be read; it is ignored.", server, issuer)
            continue
        if record.resource == resource:
            return record
    return None


class StoredSignIn:
    """The SDK's `TokenStorage` for one child: the record in memory, written through to the token store
    (off the event loop) whenever the SDK stores new tokens or a new registration.

    `configured` is a client registered ahead of time (from the config): it is handed to the SDK as is
    and never written to the store. A write that fails is logged (the sign-in lasts until the gateway
    stops) and kept in `save_error`, so an interactive sign-in can say so."""

    def __init__(
        self,
        store: TokenStore | None,
        server: str,
        record: SignInRecord,
        configured: OAuthClientInformationFull | None = None,
    ) -> None:
        self.store = store
        self.server = server
        self.record = record
        self.configured = configured
        self.save_error: str | None = None
        self.saved = 0  # records written (tests and the sign-in read it)
        self._discovered: Callable[[], Discovered] | None = None

    def attach(self, discovered: Callable[[], Discovered]) -> None:
        """What the provider has discovered so far (sdk/oauth.py reads it from the SDK's context): the
        issuer and the metadata in force, read on each write."""
        self._discovered = discovered

    def forget_tokens(self) -> None:
        """They were refused and could not be refreshed: do not offer them again in this connection."""
        self.record.tokens = None
        self.record.expires_at = None

    # -- TokenStorage -------------------------------------------------------------------------------
    async def get_tokens(self) -> OAuthToken | None:
        return self.record.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        record = self.record
        record.tokens = tokens
        record.lifetime = float(tokens.expires_in) if tokens.expires_in is not None else None
        record.expires_at = time.time() + record.lifetime if record.lifetime is not None else None
        self._take_context()
        await self._save()

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.configured or self.record.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        if self.configured is not None:
            return
        self.record.client = client_info
        self._take_context()
        await self._save()

    # -- keeping it ---------------------------------------------------------------------------------
    def _take_context(self) -> None:
        if self._discovered is None:
            return
        found = self._discovered()
        if found.metadata is not None:
            self.record.metadata = found.metadata
            self.record.issuer = str(found.metadata.issuer)
        elif found.auth_server_url and not self.record.issuer:
            self.record.issuer = str(found.auth_server_url)
        if found.resource_metadata is not None:
            self.record.resource_metadata = found.resource_metadata
        if not self.record.issuer:  # the 2025-03-26 servers: the resource's origin is the issuer
            parsed = urlparse(self.record.resource)
            self.record.issuer = f"{parsed.scheme}://{parsed.netloc}"

    async def _save(self) -> None:
        if self.store is None:
            return
        store, server, record = self.store, self.server, self.record
        try:
            await anyio.to_thread.run_sync(store.set, server, record.issuer, record.to_json())
        except Exception as exc:  # the store's sentence; never the record (it holds tokens)
            self.save_error = str(exc) or type(exc).__name__
            log.warning("Could not keep the sign-in of server %s (%s); it lasts until Switchboard stops.",
                        server, self.save_error)
            return
        self.saved += 1
