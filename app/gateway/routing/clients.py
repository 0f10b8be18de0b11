"""The clients connected to the gateway: who they are, their in-flight calls, and what we send them.

A child's own requests (sampling, elicitation, roots) and log messages go only to the client whose
call is in flight through that child. Over stdio such a request carries no link to the call that
caused it, so when calls of two different clients are in flight on one child it is refused rather
than guessed (one client's prompt must never reach another). A `roots/list` outside any call gets
the roots configured for that server. list_changed goes to every client whose view it touches, in
both protocol eras.
"""

from __future__ import annotations

import itertools
import logging
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from mcp.shared.subscriptions import PromptsListChanged, ResourcesListChanged, ResourceUpdated, ToolsListChanged
from mcp_types.jsonrpc import INTERNAL_ERROR, INVALID_REQUEST
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from app.gateway.children.model import UpstreamRelay
from app.gateway.events import ClientConnected, ClientDisconnected, EventBus
from app.gateway.sdk.connection import connection_of
from app.gateway.security.identity import MAIN, NOBODY, SCOPE_KEY, KeyIdentity

log = logging.getLogger(__name__)
LOG_LEVELS: tuple[str, ...] = get_args(types.LoggingLevel)
Ctx = ServerRequestContext[Any, Any]


def identity_of(ctx: Ctx) -> KeyIdentity:
    request = ctx.request
    scope = getattr(request, "scope", None)
    if scope is None:  # in-process use (tests, the stdio bridge's own loop): no HTTP, no key
        return MAIN
    identity = scope.get(SCOPE_KEY)
    return identity if isinstance(identity, KeyIdentity) else NOBODY  # fail closed


@dataclass
class ClientInfo:
    client_id: str
    name: str
    version: str
    transport: str
    identity: KeyIdentity
    endpoint: str  # "*" for the merged /mcp and /sse, else the child served alone
    connected_at: float
    last_seen: float
    calls: int = 0
    connection: Any = field(default=None, repr=False)
    session: str | None = None  # its key in ConnectedClients.by_session: the Streamable HTTP or SSE session id


class ConnectedClients(UpstreamRelay):
    def __init__(self, bus: EventBus, roots: Callable[[str], list[str]] = lambda server: []) -> None:
        """`roots(server)`: the roots configured for a server, answered when it asks outside any call."""
        self.bus = bus
        self._roots = roots
        self.clients: dict[str, ClientInfo] = {}
        self.by_session: dict[str, ClientInfo] = {}  # clients by session id (the fast lane's; SSE ones "sse:ID")
        self._ids = itertools.count(1)
        self._inflight: dict[str, list[Ctx]] = {}
        # (child, child uri) -> connections subscribed to it
        # (child, child's uri) -> {connection: the uri that connection knows}
        self._subscribers: dict[tuple[str, str], weakref.WeakKeyDictionary[Any, str]] = {}
        self._listen: dict[str, tuple[InMemorySubscriptionBus, ListenHandler]] = {}

    def listen_handler(self, endpoint: str) -> ListenHandler:
        """The `subscriptions/listen` handler of one endpoint (how 2026-era clients hear of changes)."""
        if endpoint not in self._listen:
            bus = InMemorySubscriptionBus()
            self._listen[endpoint] = (bus, ListenHandler(bus))
        return self._listen[endpoint][1]

    # --- connections ------------------------------------------------------------------------------
    def seen(self, ctx: Ctx, endpoint: str) -> ClientInfo | None:
        """Note a request from a handshake-era connection; the first one after initialize registers it."""
        connection = connection_of(ctx)
        info: ClientInfo | None = connection.state.get("switchboard.client")
        now = time.time()
        if info is not None:
            info.last_seen = now
            return info
        params = connection.client_params
        if params is None or (connection.session_id is None and _is_modern(connection)):
            return None
        request = ctx.request
        path = getattr(getattr(request, "url", None), "path", "") or ""
        session = connection.session_id
        if session is None and "/messages" in path:  # legacy SSE: the id its POSTs carry
            sse_id = getattr(request, "query_params", {}).get("session_id")
            session = f"sse:{sse_id}" if sse_id else None
        info = ClientInfo(
            client_id=f"c{next(self._ids)}",
            name=params.client_info.name,
            version=params.client_info.version,
            transport="sse" if "/messages" in path or path.endswith("/sse") else "streamable-http",
            identity=identity_of(ctx),
            endpoint=endpoint,
            connected_at=now,
            last_seen=now,
            connection=connection,
            session=session,
        )
        connection.state["switchboard.client"] = info
        self.clients[info.client_id] = info
        if session is not None:
            self.by_session[session] = info
        connection.exit_stack.callback(self._forget, info.client_id)
        self.bus.publish(
            ClientConnected(info.client_id, info.name, info.version, info.transport, info.identity.name, now)
        )
        return info

    def _forget(self, client_id: str) -> None:
        info = self.clients.pop(client_id, None)
        if info is not None:
            if info.session is not None:
                self.by_session.pop(info.session, None)
            info.connection = None
            self.bus.publish(ClientDisconnected(client_id))

    def legacy_connections(self) -> Iterable[ClientInfo]:
        return [info for info in self.clients.values() if info.connection is not None]

    # --- in-flight calls --------------------------------------------------------------------------
    def enter(self, child: str, ctx: Ctx) -> None:
        self._inflight.setdefault(child, []).append(ctx)

    def leave(self, child: str, ctx: Ctx) -> None:
        stack = self._inflight.get(child)
        if stack and ctx in stack:
            stack.remove(ctx)

    def _caller(self, child: str) -> tuple[Ctx | None, int]:
        """The latest in-flight call on `child` and how many different clients have calls there."""
        stack = self._inflight.get(child) or []
        owners = {id(connection_of(ctx)) for ctx in stack}
        return (stack[-1] if stack else None), len(owners)

    # --- a child's requests, answered by the client whose call is in flight ------------------------
    async def _ask_client(self, child: str, request: Any, result_type: Any, what: str) -> Any:
        ctx, owners = self._caller(child)
        if ctx is None:
            return types.ErrorData(code=INVALID_REQUEST, message=f"No client call to '{child}' is in flight to {what}")
        if owners > 1:
            log.warning("server %s asked to %s while %d clients had calls in flight on it; refused", child, what,
                        owners)
            return types.ErrorData(
                code=INVALID_REQUEST,
                message=f"Switchboard cannot tell which of {owners} clients' calls this request belongs to, "
                f"so it was refused rather than sent to the wrong client ({what})",
            )
        try:
            return await ctx.session.send_request(
                request, result_type, metadata=ServerMessageMetadata(related_request_id=ctx.request_id)
            )
        except MCPError as exc:
            return exc.error
        except Exception as exc:  # no back-channel (a 2026-era client), or the client went away
            return types.ErrorData(code=INTERNAL_ERROR, message=f"The client cannot {what}: {exc}")

    async def sampling(self, child: str, params: types.CreateMessageRequestParams) -> Any:
        return await self._ask_client(
            child, types.CreateMessageRequest(params=params), types.CreateMessageResult, "answer a sampling request"
        )

    async def elicitation(self, child: str, params: types.ElicitRequestParams) -> Any:
        return await self._ask_client(
            child, types.ElicitRequest(params=params), types.ElicitResult, "answer an elicitation request"
        )

    async def list_roots(self, child: str) -> Any:
        ctx, _ = self._caller(child)
        if ctx is None:  # outside any call (the filesystem server asks right after start): the configured roots
            return types.ListRootsResult.model_validate({"roots": [{"uri": _root_uri(r)} for r in self._roots(child)]})
        return await self._ask_client(child, types.ListRootsRequest(), types.ListRootsResult, "list its roots")

    async def log_message(self, child: str, params: types.LoggingMessageNotificationParams) -> None:
        log.info("[%s] %s: %s", child, params.level, params.data)
        ctx, owners = self._caller(child)
        if ctx is None or owners > 1:  # nobody's, or ambiguous: the gateway log only
            return
        threshold = connection_of(ctx).state.get("switchboard.log_level", "debug")
        if LOG_LEVELS.index(params.level) < LOG_LEVELS.index(threshold):
            return
        logger = params.logger or child
        try:
            await ctx.session.send_log_message(params.level, params.data, logger, related_request_id=ctx.request_id)
        except Exception as exc:  # the call may have just ended; a lost log line is not an error
            log.debug("log message from %s not delivered: %s", child, exc)

    # --- resource subscriptions -------------------------------------------------------------------
    def subscribe(self, child: str, uri: str, published: str, ctx: Ctx) -> bool:
        """Record a subscriber; True when it is the first, so the child must be asked."""
        subscribers = self._subscribers.setdefault((child, uri), weakref.WeakKeyDictionary())
        first = len(subscribers) == 0
        subscribers[connection_of(ctx)] = published
        return first

    def unsubscribe(self, child: str, uri: str, ctx: Ctx) -> bool:
        """Drop a subscriber; True when it was the last, so the child can be told."""
        subscribers = self._subscribers.get((child, uri))
        if not subscribers:
            return False
        subscribers.pop(connection_of(ctx), None)
        if len(subscribers) == 0:
            del self._subscribers[(child, uri)]
            return True
        return False

    async def resource_updated(self, child: str, uri: str) -> None:
        for connection, published in list(self._subscribers.get((child, uri), {}).items()):
            try:
                await connection.send_resource_updated(published)
            except Exception as exc:
                log.debug("resource update not delivered: %s", exc)
        for endpoint, (bus, _) in self._listen.items():
            if endpoint in ("*", child):
                await bus.publish(ResourceUpdated(uri=uri))

    # --- list_changed -----------------------------------------------------------------------------
    async def lists_changed(self, kinds: set[str], servers: set[str]) -> None:
        """Tell connected clients of both eras; a client whose key hides those servers hears nothing."""
        for info in self.legacy_connections():
            touched = servers if info.endpoint == "*" else servers & {info.endpoint}
            connection = info.connection
            if connection is None or not any(info.identity.allows_server(s) for s in touched):
                continue
            with anyio.move_on_after(2):
                try:
                    if "tools" in kinds:
                        await connection.send_tool_list_changed()
                    if "prompts" in kinds:
                        await connection.send_prompt_list_changed()
                    if "resources" in kinds:
                        await connection.send_resource_list_changed()
                except Exception as exc:
                    log.debug("list_changed not delivered to %s: %s", info.name, exc)
        events: dict[str, type[ToolsListChanged | PromptsListChanged | ResourcesListChanged]] = {
            "tools": ToolsListChanged,
            "prompts": PromptsListChanged,
            "resources": ResourcesListChanged,
        }
        for endpoint, (bus, _) in self._listen.items():
            if endpoint == "*" or endpoint in servers:
                for kind in kinds:
                    await bus.publish(events[kind]())


def _root_uri(root: str) -> str:
    """A configured root: a URI as written, or a local path turned into a file:// URI."""
    if "://" in root:
        return root
    return Path(root).expanduser().resolve().as_uri()


def _is_modern(connection: Any) -> bool:
    return connection.protocol_version in MODERN_PROTOCOL_VERSIONS
