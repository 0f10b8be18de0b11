"""The upstream MCP server: SDK `Server` handlers that route each request to the right child.

One `Server` serves the merged view (`/mcp`, `/sse`); one more per child serves that child
alone with its own names (`/servers/NAME/...`). Both run the same handlers over a different
catalog. Results travel as raw dicts: what a child returns reaches the client as written.
"""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.server.caching import CACHEABLE_METHODS, CacheHint
from mcp.server.context import CallNext, HandlerResult
from mcp.server.lowlevel.server import NotificationOptions
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp_types import SERVER_INFO_META_KEY
from mcp_types.jsonrpc import INVALID_PARAMS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from app import __version__
from app.gateway.children.supervisor import ChildSupervisor
from app.gateway.events import CallFinished, CallStarted, EventBus
from app.gateway.routing.catalog import SEPARATOR, Catalog, Route, published_name
from app.gateway.routing.clients import Ctx, Upstream, connection_of, identity_of

Children = Mapping[str, ChildSupervisor]
_call_ids = itertools.count(1)
RESERVED = "io.modelcontextprotocol/"


class GatewayServer(Server[Any]):
    """The SDK's `Server`, announcing list_changed for every list: children change at run time."""

    def create_initialization_options(
        self, notification_options: NotificationOptions | None = None, *a: Any, **kw: Any
    ) -> Any:
        everything = NotificationOptions(prompts_changed=True, resources_changed=True, tools_changed=True)
        return super().create_initialization_options(notification_options or everything, *a, **kw)


class Router:
    """The handlers of one endpoint: `endpoint` is "*" (merged) or the name of the child served alone."""

    def __init__(
        self,
        endpoint: str,
        children: Callable[[], Children],
        catalog: Callable[[], Catalog],
        upstream: Upstream,
        bus: EventBus,
    ) -> None:
        self.endpoint = endpoint
        self.children = children
        self.catalog = catalog
        self.upstream = upstream
        self.bus = bus

    def _child(self, route: Route) -> ChildSupervisor:
        return self.children()[route.server]

    # --- tools ------------------------------------------------------------------------------------
    async def list_tools(self, ctx: Ctx, params: types.PaginatedRequestParams) -> HandlerResult:
        identity = identity_of(ctx)
        catalog = self.catalog()
        tools = [
            tool
            for tool in catalog.tools
            if identity.allows_tool(
                (route := catalog.tool_routes[tool["name"]]).server, published_name(route.server, route.name)
            )
        ]
        return {"tools": tools}

    async def call_tool(self, ctx: Ctx, params: types.CallToolRequestParams) -> HandlerResult:
        route = self.catalog().tool_routes.get(params.name)
        if route is None or not identity_of(ctx).allows_tool(route.server, published_name(route.server, route.name)):
            raise self._not_found(ctx, "tool", params.name)
        forwarded: dict[str, Any] = {"name": route.name}
        if params.arguments is not None:
            forwarded["arguments"] = params.arguments
        return await self._forward(ctx, route, "tools/call", forwarded, params.name, params.arguments)

    def _not_found(self, ctx: Ctx, kind: str, name: str) -> MCPError:
        """Unknown, or owned by a server that is not running now: say which, so the user knows what to fix."""
        server = self.endpoint if self.endpoint != "*" else name.partition(SEPARATOR)[0]
        child = self.children().get(server)
        if child is not None and child.state.value != "running" and identity_of(ctx).allows_server(server):
            return MCPError(INVALID_PARAMS, f"Unknown {kind}: {name} ({child.unavailable_message()})")
        return MCPError(INVALID_PARAMS, f"Unknown {kind}: {name}")

    # --- prompts ----------------------------------------------------------------------------------
    async def list_prompts(self, ctx: Ctx, params: types.PaginatedRequestParams) -> HandlerResult:
        identity = identity_of(ctx)
        catalog = self.catalog()
        prompts = [p for p in catalog.prompts if identity.allows_prompt(catalog.prompt_routes[p["name"]].server)]
        return {"prompts": prompts}

    async def get_prompt(self, ctx: Ctx, params: types.GetPromptRequestParams) -> HandlerResult:
        route = self.catalog().prompt_routes.get(params.name)
        if route is None or not identity_of(ctx).allows_prompt(route.server):
            raise self._not_found(ctx, "prompt", params.name)
        forwarded: dict[str, Any] = {"name": route.name}
        if params.arguments is not None:
            forwarded["arguments"] = params.arguments
        return await self._forward(ctx, route, "prompts/get", forwarded, params.name, params.arguments)

    # --- resources --------------------------------------------------------------------------------
    async def list_resources(self, ctx: Ctx, params: types.PaginatedRequestParams) -> HandlerResult:
        identity = identity_of(ctx)
        catalog = self.catalog()
        items = [r for r in catalog.resources if identity.allows_server(catalog.resource_routes[r["uri"]].server)]
        return {"resources": items}

    async def list_templates(self, ctx: Ctx, params: types.PaginatedRequestParams) -> HandlerResult:
        identity = identity_of(ctx)
        catalog = self.catalog()
        items = [
            t for t in catalog.templates if identity.allows_server(catalog.template_routes[t["uriTemplate"]].server)
        ]
        return {"resourceTemplates": items}

    def _resource_route(self, ctx: Ctx, uri: str) -> Route:
        route = self.catalog().route_resource(uri)
        if route is None or not identity_of(ctx).allows_server(route.server):
            raise MCPError(INVALID_PARAMS, f"Resource not found: {uri}")
        return route

    async def read_resource(self, ctx: Ctx, params: types.ReadResourceRequestParams) -> HandlerResult:
        uri = str(params.uri)
        route = self._resource_route(ctx, uri)
        result = await self._forward(ctx, route, "resources/read", {"uri": route.name}, uri, None)
        if uri != route.name:  # a rewritten URI: answer in the client's terms
            result["contents"] = [
                {**c, "uri": uri} if c.get("uri") == route.name else c for c in result.get("contents") or []
            ]
        return result

    async def subscribe(self, ctx: Ctx, params: types.SubscribeRequestParams) -> types.EmptyResult:
        uri = str(params.uri)
        route = self._resource_route(ctx, uri)
        if self.upstream.subscribe(route.server, route.name, uri, ctx):
            await self._child(route).request("resources/subscribe", {"uri": route.name})
        return types.EmptyResult()

    async def unsubscribe(self, ctx: Ctx, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        uri = str(params.uri)
        route = self._resource_route(ctx, uri)
        if self.upstream.unsubscribe(route.server, route.name, ctx):
            await self._child(route).request("resources/unsubscribe", {"uri": route.name})
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
        if route is None or not identity_of(ctx).allows_server(route.server):
            raise MCPError(INVALID_PARAMS, "Unknown completion reference")
        forwarded = params.model_dump(by_alias=True, mode="json", exclude_none=True)
        forwarded["ref"] = child_ref
        forwarded.pop("_meta", None)
        return await self._child(route).request("completion/complete", forwarded)

    async def set_logging_level(self, ctx: Ctx, params: types.SetLevelRequestParams) -> types.EmptyResult:
        connection_of(ctx).state["switchboard.log_level"] = params.level
        return types.EmptyResult()

    # --- forwarding -------------------------------------------------------------------------------
    async def _forward(
        self, ctx: Ctx, route: Route, method: str, params: dict[str, Any], target: str, arguments: Any
    ) -> dict[str, Any]:
        child = self._child(route)
        info = self.upstream.seen(ctx, self.endpoint)
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
        self.bus.publish(
            CallStarted(
                call_id,
                info.client_id if info else "",
                info.name if info else "",
                identity_of(ctx).name,
                method,
                target,
                route.server,
                arguments,
                time.time(),
            )
        )
        self.upstream.enter(route.server, ctx)
        status, error, result = "error", None, None
        try:
            result = await child.request(method, params, on_progress=progress if wants_progress else None)
            status = "error" if result.get("isError") else "ok"
            return _without_child_identity(result)
        except MCPError as exc:
            error = exc.error.message
            raise
        except anyio.get_cancelled_exc_class():
            status = "cancelled"
            raise
        finally:
            self.upstream.leave(route.server, ctx)
            elapsed = (time.perf_counter() - started) * 1000
            self.bus.publish(CallFinished(call_id, status, elapsed, result, error))

    # --- the middleware that notes who is connected -----------------------------------------------
    async def note_client(self, ctx: Ctx, call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "initialize" and ctx.request_id is not None:
            self.upstream.seen(ctx, self.endpoint)
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


def _for_era(handler: Callable[[Ctx, Any], Any]) -> Callable[[Ctx, Any], Any]:
    """Children answer in the handshake era; a 2026-07-28 client also needs `resultType` on every result."""

    async def shaped(ctx: Ctx, params: Any) -> HandlerResult:
        result = await handler(ctx, params)
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and isinstance(result, dict) and "resultType" not in result:
            result = {**result, "resultType": "complete"}
        return result

    return shaped


def build_server(router: Router, *, name: str = "switchboard") -> GatewayServer:
    with warnings.catch_warnings():
        # Logging is deprecated in the 2026 revision but current for handshake-era clients, which we serve.
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        server = _new_server(router, name)
    # Our middleware only; the SDK's default OpenTelemetry span per message costs time on every call.
    server.middleware = [router.note_client]
    return server


def _new_server(r: Router, name: str) -> GatewayServer:
    return GatewayServer(
        name,
        version=__version__,
        instructions="Switchboard gateway: tools, prompts and resources of several MCP servers.",
        on_list_tools=_for_era(r.list_tools),
        on_call_tool=_for_era(r.call_tool),
        on_list_prompts=_for_era(r.list_prompts),
        on_get_prompt=_for_era(r.get_prompt),
        on_list_resources=_for_era(r.list_resources),
        on_list_resource_templates=_for_era(r.list_templates),
        on_read_resource=_for_era(r.read_resource),
        on_subscribe_resource=r.subscribe,
        on_unsubscribe_resource=r.unsubscribe,
        on_subscriptions_listen=r.upstream.listen_handler(r.endpoint),
        on_completion=_for_era(r.complete),
        on_set_logging_level=r.set_logging_level,
        # Views differ per API key, so nothing may be cached across keys; children change at any time.
        cache_hints={method: CacheHint(ttl_ms=0, scope="private") for method in CACHEABLE_METHODS},  # type: ignore[misc]
    )
