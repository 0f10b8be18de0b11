"""A real authorization server and real protected MCP servers on 127.0.0.1, built with the SDK's
server-side auth (`mcp.server.auth`), for the OAuth tests.

- `AuthServer`: the SDK's /authorize, /token, /register, /revoke routes and metadata over an in-memory
  provider that approves every consent at once (the test's "user" clicks Allow); it can expire access
  tokens and revoke refresh tokens on demand, and counts the grants it served.
- `protected_mcp`: an MCP server (Streamable HTTP) behind the SDK's bearer middleware and protected
  resource metadata, whose token verifier asks that authorization server; it records every request's
  headers, so tests can say what reached it.
- `follow(url)`: the browser step, done by an HTTP client: GET the authorization URL and follow its
  redirect to the loopback listener.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import mcp_types as t
import uvicorn
from mcp.server import Server, ServerRequestContext
from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.routes import build_metadata, create_auth_routes
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp.shared.exceptions import MCPDeprecationWarning
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.routing import Route

warnings.simplefilter("ignore", MCPDeprecationWarning)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # type: ignore[override]
        yield


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    return sock


@contextlib.asynccontextmanager
async def serve(app: Any, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 (a free port, or `sock`) until the block ends; yields its base URL."""
    sock = sock or bound_socket()
    port = sock.getsockname()[1]
    server = _Server(uvicorn.Config(app, log_config=None, lifespan="on", access_log=False))
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: server.serve(sockets=[sock]))
        with anyio.fail_after(10):
            while not server.started:
                await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            server.force_exit = True
    sock.close()


@dataclass
class AuthServer:
    """The in-memory provider behind the SDK's authorization server routes."""

    access_lifetime: int = 3600
    clients: dict[str, OAuthClientInformationFull] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    grants: list[str] = field(default_factory=list)  # "authorization_code" / "refresh_token", in order
    registrations: int = 0
    authorizations: list[AuthorizationParams] = field(default_factory=list)
    url: str = ""
    denies: bool = False  # the user clicks Deny on the consent page
    oidc_only: bool = False  # metadata only at /.well-known/openid-configuration (OpenID Connect discovery)

    # -- what tests do to it ------------------------------------------------------------------------
    def expire_access_tokens(self) -> None:
        """Every access token out now is refused from here on (as if expired early, or revoked)."""
        self.access.clear()

    def revoke_refresh_tokens(self) -> None:
        self.refresh.clear()

    def issued_tokens(self) -> list[str]:
        return [*self.access, *self.refresh]

    def preregister(self, client_id: str, secret: str | None, redirect_uri: str, scope: str | None = None) -> None:
        self.clients[client_id] = OAuthClientInformationFull(
            client_id=client_id, client_secret=secret, redirect_uris=[redirect_uri],  # type: ignore[list-item]
            token_endpoint_auth_method="client_secret_post" if secret else "none", scope=scope,
            grant_types=["authorization_code", "refresh_token"],
        )

    # -- OAuthAuthorizationServerProvider -----------------------------------------------------------
    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if client_id in self.documents:
            return OAuthClientInformationFull(
                client_id=client_id, redirect_uris=self.documents[client_id],  # type: ignore[arg-type]
                token_endpoint_auth_method="none", grant_types=["authorization_code", "refresh_token"],
                scope=" ".join(self.scopes),
            )
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        self.registrations += 1
        self.clients[client_info.client_id] = client_info

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        self.authorizations.append(params)
        if self.denies:
            return construct_redirect_uri(str(params.redirect_uri), error="access_denied",
                                          error_description="The user denied access", state=params.state)
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthorizationCode(
            code=code, scopes=params.scopes or [], expires_at=time.time() + 300, client_id=client.client_id,
            code_challenge=params.code_challenge, redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly, resource=params.resource,
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(self, client: OAuthClientInformationFull, code: str) -> AuthorizationCode | None:
        found = self.codes.get(code)
        return found if found is not None and found.client_id == client.client_id else None

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, code: AuthorizationCode
    ) -> OAuthToken:
        self.codes.pop(code.code, None)
        self.grants.append("authorization_code")
        return self._issue(client.client_id, code.scopes, code.resource)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        found = self.refresh.get(refresh_token)
        return found if found is not None and found.client_id == client.client_id else None

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        if self.refresh.pop(refresh_token.token, None) is None:
            raise TokenError("invalid_grant", "refresh token revoked")
        self.grants.append("refresh_token")
        return self._issue(client.client_id, scopes or refresh_token.scopes, refresh_token.resource)

    async def load_access_token(self, token: str) -> AccessToken | None:
        return self.access.get(token)

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        self.access.pop(token.token, None)
        self.refresh.pop(token.token, None)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None) -> OAuthToken:
        access, refresh = f"at-{secrets.token_urlsafe(24)}", f"rt-{secrets.token_urlsafe(24)}"
        self.access[access] = AccessToken(
            token=access, client_id=client_id, scopes=scopes, expires_at=int(time.time()) + self.access_lifetime,
            resource=resource,
        )
        self.refresh[refresh] = RefreshToken(token=refresh, client_id=client_id, scopes=scopes, resource=resource)
        return OAuthToken(access_token=access, refresh_token=refresh, expires_in=self.access_lifetime,
                          scope=" ".join(scopes))

    # Client ID Metadata Documents this server "fetches" (an https URL cannot be served on 127.0.0.1):
    # client_id URL -> the redirect URIs its document lists.
    documents: dict[str, list[str]] = field(default_factory=dict)
    scopes: list[str] = field(default_factory=list)

    def app(self, scopes: list[str], *, registration: bool = True) -> Starlette:
        self.scopes = scopes
        registering = ClientRegistrationOptions(enabled=registration, valid_scopes=scopes)
        revoking = RevocationOptions(enabled=True)
        routes = create_auth_routes(
            self, AnyHttpUrl(self.url), client_registration_options=registering, revocation_options=revoking
        )
        metadata = build_metadata(AnyHttpUrl(self.url), None, registering, revoking)

        async def announce(request: Any) -> Any:  # the SDK's routes never announce metadata documents
            metadata.client_id_metadata_document_supported = bool(self.documents) or None
            return await MetadataHandler(metadata).handle(request)

        path = "/.well-known/openid-configuration" if self.oidc_only else routes[0].path
        routes[0] = Route(path, announce, methods=["GET"])
        return Starlette(routes=routes)


class _Verifier:
    def __init__(self, auth: AuthServer) -> None:
        self.auth = auth

    async def verify_token(self, token: str) -> AccessToken | None:
        return await self.auth.load_access_token(token)


@dataclass
class Protected:
    """A protected MCP server: its URL, its authorization server, the headers each request brought."""

    url: str
    auth: AuthServer
    seen: list[dict[str, str]]

    def authorizations_seen(self) -> list[str]:
        return [h.get("authorization", "") for h in self.seen]


def _tools_server(name: str) -> Server[Any]:
    async def list_tools(ctx: ServerRequestContext[Any, Any], params: Any) -> t.ListToolsResult:
        schema = {"type": "object", "properties": {"text": {"type": "string"}}}
        return t.ListToolsResult(tools=[t.Tool(name="echo", description="Echo text", input_schema=schema)])

    async def call_tool(ctx: ServerRequestContext[Any, Any], params: t.CallToolRequestParams) -> t.CallToolResult:
        said = str((params.arguments or {}).get("text", ""))
        return t.CallToolResult(content=[t.TextContent(type="text", text=f"{name}: {said}")])

    return Server(name, version="1.0", on_list_tools=list_tools, on_call_tool=call_tool)


def _recording(app: Any, seen: list[dict[str, str]]) -> Any:
    async def record(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append({k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]})
        await app(scope, receive, send)

    return record


@contextlib.asynccontextmanager
async def protected_mcp(
    name: str = "docs", *, scopes: list[str] | None = None, access_lifetime: int = 3600, registration: bool = True,
    auth: AuthServer | None = None, oidc_only: bool = False,
) -> AsyncIterator[Protected]:
    """An authorization server (unless `auth` is shared) and an MCP server it protects, both running."""
    scopes = scopes or ["read", "write"]
    own_auth = auth is None
    auth = auth or AuthServer(access_lifetime=access_lifetime, oidc_only=oidc_only)
    async with contextlib.AsyncExitStack() as stack:
        if own_auth:
            as_sock = bound_socket()
            auth.url = f"http://127.0.0.1:{as_sock.getsockname()[1]}"
            await stack.enter_async_context(serve(auth.app(scopes, registration=registration), as_sock))
        rs_sock = bound_socket()
        base = f"http://127.0.0.1:{rs_sock.getsockname()[1]}"
        settings = AuthSettings(
            issuer_url=AnyHttpUrl(auth.url), resource_server_url=AnyHttpUrl(f"{base}/mcp"), required_scopes=scopes,
            validate_token_resource=True,
        )
        seen: list[dict[str, str]] = []
        app = _tools_server(name).streamable_http_app(auth=settings, token_verifier=_Verifier(auth), host="127.0.0.1")
        await stack.enter_async_context(serve(_recording(app, seen), rs_sock))
        yield Protected(f"{base}/mcp", auth, seen)


async def follow(url: str) -> httpx2.Response:
    """The user's browser: open the authorization URL (consent is automatic) and follow the redirect
    to wherever it leads (Switchboard's loopback listener). Returns the last answer."""
    async with httpx2.AsyncClient(timeout=30, follow_redirects=True) as browser:
        return await browser.get(url)


async def redirect_of(url: str) -> str:
    """Where the authorization server sends the browser back to, without going there."""
    async with httpx2.AsyncClient(timeout=30, follow_redirects=False) as browser:
        answer = await browser.get(url)
    assert answer.status_code in (302, 303, 307), (answer.status_code, answer.text)
    return answer.headers["location"]


@contextlib.contextmanager
def protected_in_thread(**options: Any) -> Iterator[Protected]:
    """`protected_mcp` on an event loop of its own in another thread, for tests whose own thread blocks
    (subprocesses of the CLI) or runs Qt's loop."""
    with anyio.from_thread.start_blocking_portal() as portal, portal.wrap_async_context_manager(
        protected_mcp(**options)
    ) as server:
        yield server


def follow_in_thread(url: str) -> None:
    """The user's browser, for code that must not wait for it (a Qt slot): follow `url` on another thread."""
    import threading

    def go() -> None:
        with httpx2.Client(timeout=30, follow_redirects=True) as browser:
            browser.get(url)

    threading.Thread(target=go, name="test-browser", daemon=True).start()
