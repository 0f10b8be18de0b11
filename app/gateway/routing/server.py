"""The MCP servers the gateway runs for its endpoints: the SDK's lowlevel `Server` with a Router's
handlers (handlers.py), our middleware only, and no caching across keys."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from mcp.server import Server
from mcp.server.caching import CACHEABLE_METHODS, CacheHint
from mcp.server.context import HandlerResult
from mcp.server.lowlevel.server import NotificationOptions
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from app import __version__
from app.gateway.routing.clients import Ctx
from app.gateway.routing.handlers import Router
from app.gateway.sdk.server import use_only


class GatewayServer(Server[Any]):
    """The SDK's `Server`, announcing list_changed for every list: children change at run time."""

    def create_initialization_options(
        self, notification_options: NotificationOptions | None = None, *a: Any, **kw: Any
    ) -> Any:
        everything = NotificationOptions(prompts_changed=True, resources_changed=True, tools_changed=True)
        return super().create_initialization_options(notification_options or everything, *a, **kw)


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
    use_only(server, [router.note_client])
    return server


def _new_server(r: Router, name: str) -> GatewayServer:
    return GatewayServer(
        name,
        version=__version__,
        instructions="Switchboard gateway: tools, prompts and resources of several MCP servers.",
        on_list_tools=_for_era(r.list_tools),
        on_call_tool=_for_era(r.call_tool),
        get_tool_input_schema=r.input_schema,
        on_list_prompts=_for_era(r.list_prompts),
        on_get_prompt=_for_era(r.get_prompt),
        on_list_resources=_for_era(r.list_resources),
        on_list_resource_templates=_for_era(r.list_templates),
        on_read_resource=_for_era(r.read_resource),
        on_subscribe_resource=r.subscribe,
        on_unsubscribe_resource=r.unsubscribe,
        on_subscriptions_listen=r.hub.connected.listen_handler(r.endpoint),
        on_completion=_for_era(r.complete),
        on_set_logging_level=r.set_logging_level,
        # Views differ per API key, so nothing may be cached across keys; children change at any time.
        cache_hints={method: CacheHint(ttl_ms=0, scope="private") for method in CACHEABLE_METHODS},  # type: ignore[misc]
    )
