"""The upstream MCP server: SDK `Server` handlers that route each request to the right child.

One `Server` serves the merged view (`/mcp`, `/sse`); one more per child serves that child
alone with its own names (`/servers/NAME/...`). Both run the same handlers over a different
catalog. Results travel as raw dicts: what a child returns reaches the client as written.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import anyio
import mcp_types as types
from mcp.server.context import CallNext, HandlerResult
from mcp.shared.exceptions import MCPError
from mcp_types import CLIENT_INFO_META_KEY, SERVER_INFO_META_KEY
from mcp_types.jsonrpc import INVALID_PARAMS, INVALID_REQUEST

from app.gateway.children.model import ChildState, ChildTimedOut
from app.gateway.children.supervisor import ChildSupervisor
from app.gateway.events import CallFinished, CallStarted, EventBus
from app.gateway.policy import CallPolicy, PolicyCall, Refused, Ticket
from app.gateway.routing.catalog import Catalog, Route
from app.gateway.routing.clients import ClientInfo, ConnectedClients, Ctx, identity_of
from app.gateway.routing.names import SEPARATOR, clean
from app.gateway.sdk.connection import connection_of
from app.gateway.security.identity import KeyIdentity

# Call ids rise across restarts too (microseconds at import, then +1 a call), so the history and the
# panel can tell calls of an earlier run from this one's by id alone.
_call_ids = itertools.count(time.time_ns() // 1000)
TRACE_KEYS = ("traceparent", "tracestate")
RESERVED = "io.modelcontextprotocol/"


class Hub(Protocol):
    """What the handlers need of the gateway (the Gateway facade is one)."""

    supervisors: dict[str, ChildSupervisor]
    connected: ConnectedClients
    bus: EventBus
    policy: CallPolicy

    def call_timeout(self, server: str) -> float: ...

    def starting_up(self) -> bool: ...

    async def wait_until_started(self, timeout: float | None = None) -> None: ...


class Router:
    """The handlers of one endpoint: `endpoint` is "*" (merged) or the name of the child served alone."""

    def __init__(self, endpoint: str, hub: Hub, catalog: Callable[[], Catalog], merged: Callable[[], Catalog]) -> None:
        """`catalog`: this endpoint's names; `merged`: the merged one, whose names per-client keys list."""
        self.endpoint = endpoint
        self.hub = hub
        self.catalog = catalog
        self.merged = merged

    @property
    def children(self) -> Mapping[str, ChildSupervisor]:
        return self.hub.supervisors

    async def _settled(self) -> None:
        """A list or a call that arrives while servers are in their first start waits for them (bounded)."""
        if self.hub.starting_up():
            await self.hub.wait_until_started()

    # --- who may see what -------------------------------------------------------------------------
    def _tool_allowed(self, identity: KeyIdentity, route: Route) -> bool:
        if not identity.allows_server(route.server):
            return False
        if identity.tools is None:
            return True
        published = self.merged().tool_names.get(route)
        return published is not None and published in identity.tools

    def _content_allowed(self, identity: KeyIdentity, server: str) -> bool:
        """Prompts, resources, templates, completions. A key limited to some tools sees those of the tools'
        servers only, or none when the key says so."""
        if not identity.allows_server(server):
            return False
        if identity.tools is None:
            return True
        return identity.tool_servers_content and server in self.merged().servers_of_tools(identity.tools)

    # --- tools ------------------------------------------------------------------------------------
    def visible_tools(self, ctx: Ctx) -> list[dict[str, Any]]:
        identity = identity_of(ctx)
        catalog = self.catalog()
        return [t for t in catalog.tools if self._tool_allowed(identity, catalog.tool_routes[t["name"]])]

    async def list_tools(self, ctx: Ctx, params: types.PaginatedRequestParams) -> HandlerResult:
        await self._settled()
        tools = self.visible_tools(ctx)
        if self.endpoint == "*":  # tool search mode: the gateway's tools (and the pinned) in place of all
            tools = self.hub.policy.search.listed(identity_of(ctx).name, tools, self.catalog())
        return {"tools": tools}

    def input_schema(self, name: str) -> Mapping[str, Any] | None:
        """A tool's inputSchema by its published name: the 2026 era's `Mcp-Param-*` header check needs it for
        every call, and without it the SDK runs a whole `tools/list` through the handlers to find it."""
        tool = self.catalog().tool_by_name.get(name)
        schema = tool.get("inputSchema") if tool is not None else None
        return schema if isinstance(schema, dict) else None

    async def call_tool(self, ctx: Ctx, params: types.CallToolRequestParams) -> HandlerResult:
        if self.endpoint == "*":  # tool search mode's own tools answer here; real ones are routed below
            answer = await self.hub.policy.search.answer(self, ctx, identity_of(ctx).name, params)
            if answer is not None:
                return answer
        route = self.catalog().tool_routes.get(params.name)
        if route is None and self.hub.starting_up():
            await self._settled()
            route = self.catalog().tool_routes.get(params.name)
        if route is None or not self._tool_allowed(identity_of(ctx), route):
            raise self._not_found(ctx, "tool", params.name, params.arguments)
        forwarded: dict[str, Any] = {"name": route.name}
        if params.arguments is not None:
            forwarded["arguments"] = params.arguments
        return await self._forward(ctx, route, "tools/call", forwarded, params.name, params.arguments)

    def _not_found(self, ctx: Ctx, kind: str, name: str, arguments: Any = None) -> MCPError:
        """Unknown, or owned by a server that is not running now: say which, so the user knows what to fix.
        A call refused because its server is down is shown in Activity too."""
        child = self._owner_of(name)
        if child is not None and child.state != ChildState.RUNNING and identity_of(ctx).allows_server(child.name):
            message = f"Unknown {kind}: {name} ({child.unavailable_message()})"
            self._publish_refused(ctx, kind, name, child.name, arguments, message)
            return MCPError(INVALID_PARAMS, message)
        return MCPError(INVALID_PARAMS, f"Unknown {kind}: {name}")

    def _owner_of(self, name: str) -> ChildSupervisor | None:
        if self.endpoint != "*":
            return self.children.get(self.endpoint)
        prefix = name.partition(SEPARATOR)[0]
        return next((c for c in self.children.values() if clean(c.name) == prefix), None)

    def _publish_refused(self, ctx: Ctx, kind: str, target: str, server: str, arguments: Any, message: str) -> None:
        info = self.hub.connected.seen(ctx, self.endpoint)
        call_id = next(_call_ids)
        method = {"tool": "tools/call", "prompt": "prompts/get"}.get(kind, kind)
        raw_meta = (ctx.params or {}).get("_meta")
        name, version, transport = _client_of(ctx, info, raw_meta if isinstance(raw_meta, dict) else {})
        self.hub.bus.publish(
            CallStarted(
                call_id,
                info.client_id if info else "",
                name,
                identity_of(ctx).name,
                method,
                target,
                server,
                arguments,
                time.time(),
                client_version=version,
                transport=transport,
                request_id=None if ctx.request_id is None else str(ctx.request_id),
            )
        )
        self.hub.bus.publish(CallFinished(call_id, "refused", 0.0, None, message))

    # --- prompts ----------------------------------------------------------------------------------
    async def list_prompts(self, ctx: Ctx, params: types.PaginatedRequestParams) -> HandlerResult:
        await self._settled()
        identity = identity_of(ctx)
        catalog = self.catalog()
        routes = catalog.prompt_routes
        return {"prompts": [p for p in catalog.prompts if self._content_allowed(identity, routes[p["name"]].server)]}

    async def get_prompt(self, ctx: Ctx, params: types.GetPromptRequestParams) -> HandlerResult:
        route = self.catalog().prompt_routes.get(params.name)
        if route is None and self.hub.starting_up():
            await self._settled()
            route = self.catalog().prompt_routes.get(params.name)
        if route is None or not self._content_allowed(identity_of(ctx), route.server):
            raise self._not_found(ctx, "prompt", params.name, params.arguments)
        forwarded: dict[str, Any] = {"name": route.name}
        if params.arguments is not None:
            forwarded["arguments"] = params.arguments
        return await self._forward(ctx, route, "prompts/get", forwarded, params.name, params.arguments)

    # --- resources --------------------------------------------------------------------------------
    async def list_resources(self, ctx: Ctx, params: types.PaginatedRequestParams) -> HandlerResult:
        await self._settled()
        identity = identity_of(ctx)
        catalog = self.catalog()
        routes = catalog.resource_routes
        return {"resources": [r for r in catalog.resources if self._content_allowed(identity, routes[r["uri"]].server)]}

    async def list_templates(self, ctx: Ctx, params: types.PaginatedRequestParams) -> HandlerResult:
        await self._settled()
        identity = identity_of(ctx)
        catalog = self.catalog()
        routes = catalog.template_routes
        items = [t for t in catalog.templates if self._content_allowed(identity, routes[t["uriTemplate"]].server)]
        return {"resourceTemplates": items}

    async def _resource_route(self, ctx: Ctx, uri: str) -> Route:
        route = self.catalog().route_resource(uri)
        if route is None and self.hub.starting_up():
            await self._settled()
            route = self.catalog().route_resource(uri)
        if route is None or not self._content_allowed(identity_of(ctx), route.server):
            raise MCPError(INVALID_PARAMS, f"Resource not found: {uri}")
        return route

    async def read_resource(self, ctx: Ctx, params: types.ReadResourceRequestParams) -> HandlerResult:
        uri = str(params.uri)
        route = await self._resource_route(ctx, uri)
        result = await self._forward(ctx, route, "resources/read", {"uri": route.name}, uri, None)
        if uri != route.name:  # a rewritten URI: answer in the client's terms
            result["contents"] = [
                {**c, "uri": uri} if c.get("uri") == route.name else c for c in result.get("contents") or []
            ]
        return result

    async def subscribe(self, ctx: Ctx, params: types.SubscribeRequestParams) -> types.EmptyResult:
        uri = str(params.uri)
        route = await self._resource_route(ctx, uri)
        if self.hub.connected.subscribe(route.server, route.name, uri, ctx):
            await self.children[route.server].request("resources/subscribe", {"uri": route.name})
        return types.EmptyResult()

    async def unsubscribe(self, ctx: Ctx, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        uri = str(params.uri)
        route = await self._resource_route(ctx, uri)
        if self.hub.connected.unsubscribe(route.server, route.name, ctx):
            await self.children[route.server].request("resources/unsubscribe", {"uri": route.name})
        return types.EmptyResult()

    # --- completion and logging -------------------------------------------------------------------
    async def complete(self, ctx: Ctx, params: types.CompleteRequestParams) -> HandlerResult:
        catalog = self.catalog()
        ref = params.ref
        if isinstance(ref, types.PromptReference):
            route = catalog.prompt_routes.get(ref.name)
            child_ref = {"type": "ref/prompt", "name": route.name if route else ""}
        else:
            route = catalog.template_routes.get(ref.uri) or catalog.route_resource(ref.uri)
            child_ref = {"type": "ref/resource", "uri": route.name if route else ""}
        if route is None or not self._content_allowed(identity_of(ctx), route.server):
            raise MCPError(INVALID_PARAMS, "Unknown completion reference")
        forwarded = params.model_dump(by_alias=True, mode="json", exclude_none=True)
        forwarded["ref"] = child_ref
        forwarded.pop("_meta", None)
        return await self.children[route.server].request(
            "completion/complete", forwarded, timeout=self.hub.call_timeout(route.server)
        )

    async def set_logging_level(self, ctx: Ctx, params: types.SetLevelRequestParams) -> types.EmptyResult:
        connection_of(ctx).state["switchboard.log_level"] = params.level
        return types.EmptyResult()

    # --- forwarding -------------------------------------------------------------------------------
    async def _forward(
        self, ctx: Ctx, route: Route, method: str, params: dict[str, Any], target: str, arguments: Any
    ) -> dict[str, Any]:
        child = self.children[route.server]
        info = self.hub.connected.seen(ctx, self.endpoint)
        if info is not None:
            info.calls += 1
        # The raw `_meta` as the client sent it (the typed one renames keys). Its progress token is the
        # client's; the child gets our own, and its progress is reported back against the client's.
        raw_meta = (ctx.params or {}).get("_meta")
        raw_meta = raw_meta if isinstance(raw_meta, dict) else {}
        wants_progress = "progressToken" in raw_meta
        # Reserved `io.modelcontextprotocol/*` keys describe the client's own connection (its era's envelope);
        # the child's connection has its own, stamped by the SDK.
        forwarded_meta = {k: v for k, v in raw_meta.items() if k != "progressToken" and not k.startswith(RESERVED)}
        if forwarded_meta:
            params["_meta"] = forwarded_meta

        async def progress(value: float, total: float | None, message: str | None) -> None:
            await ctx.session.report_progress(value, total, message)

        call_id = next(_call_ids)
        started = time.perf_counter()
        name, version, transport = _client_of(ctx, info, raw_meta)
        trace = {k: v for k in TRACE_KEYS if isinstance(v := raw_meta.get(k), str)} or None
        token = raw_meta.get("progressToken")
        self.hub.bus.publish(
            CallStarted(
                call_id,
                info.client_id if info else "",
                name,
                identity_of(ctx).name,
                method,
                target,
                route.server,
                arguments,
                time.time(),
                client_version=version,
                transport=transport,
                original=route.name,
                request_id=None if ctx.request_id is None else str(ctx.request_id),
                progress_token=None if token is None else str(token),
                trace=trace,
            )
        )
        status, error, result, decided_by = "error", None, None, None
        ticket: Ticket | None = None
        try:
            # The one hook of the call policy: limits, allow/deny/ask, the cache, a concurrency slot.
            ticket = await self.hub.policy.before(
                PolicyCall(call_id, method, route.server, target, route.name, arguments, identity_of(ctx).name, name,
                           progress if wants_progress else None, ctx.request)
            )  # fmt: skip
            decided_by = ticket.decided_by
            if ticket.cached is not None:
                result = ticket.cached
            else:
                self.hub.connected.enter(route.server, ctx)  # after any wait: only calls the child has count
                result = await child.request(
                    method, params, on_progress=progress if wants_progress else None, timeout=ticket.timeout
                )
            status = "error" if result.get("isError") else "ok"
            return _without_child_identity(result)
        except Refused as exc:
            status, error, decided_by = exc.status, exc.error.message, exc.decided_by
            raise
        except ChildTimedOut as exc:
            status, error = "timed out", exc.error.message
            raise
        except MCPError as exc:
            error = exc.error.message
            raise
        except anyio.get_cancelled_exc_class():
            status = "cancelled"
            raise
        finally:
            self.hub.policy.after(ticket, result, status == "ok")
            self.hub.connected.leave(route.server, ctx)
            elapsed = (time.perf_counter() - started) * 1000
            cached = ticket is not None and ticket.cached is not None
            self.hub.bus.publish(CallFinished(call_id, status, elapsed, result, error, cached, decided_by))

    # --- the middleware that notes who is connected -----------------------------------------------
    async def note_client(self, ctx: Ctx, call_next: CallNext) -> HandlerResult:
        """Registers the client on its first request, and refuses a request whose id is already in flight
        on its session: the SDK would let it overwrite the first, which then never gets an answer."""
        if ctx.method == "initialize" or ctx.request_id is None:
            return await call_next(ctx)
        in_flight: set[str] = connection_of(ctx).state.setdefault("switchboard.in_flight", set())
        key = str(ctx.request_id)  # the SDK's correlation domain: 6 and "6" are one id
        if key in in_flight:
            raise MCPError(
                INVALID_REQUEST,
                f"Invalid Request: a request with id {ctx.request_id!r} is already in flight on this session; "
                "each request needs an id of its own",
            )
        in_flight.add(key)
        try:
            result = await call_next(ctx)
        finally:
            in_flight.discard(key)
        self.hub.connected.seen(ctx, self.endpoint)
        return result


def _without_child_identity(result: dict[str, Any]) -> dict[str, Any]:
    """Drop the child's server-info `_meta` stamp: to clients, the gateway is the server."""
    meta = result.get("_meta")
    if isinstance(meta, dict) and SERVER_INFO_META_KEY in meta:
        rest = {k: v for k, v in meta.items() if k != SERVER_INFO_META_KEY}
        result = {k: v for k, v in result.items() if k != "_meta"}
        if rest:
            result["_meta"] = rest
    return result


def _client_of(ctx: Ctx, info: ClientInfo | None, raw_meta: dict[str, Any]) -> tuple[str, str, str]:
    """(name, version, transport) of the caller: its session's, or what a 2026-era request says in `_meta`."""
    if info is not None:
        return info.name, info.version, info.transport
    client = raw_meta.get(CLIENT_INFO_META_KEY)
    client = client if isinstance(client, dict) else {}
    transport = "streamable-http" if getattr(ctx.request, "scope", None) is not None else ""
    return str(client.get("name") or "")[:100], str(client.get("version") or "")[:50], transport
