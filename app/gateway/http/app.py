"""The Starlette app: /mcp (Streamable HTTP), /sse + /messages/ (legacy SSE), /health, and each child alone
under /servers/NAME/. Auth and Host/Origin checks wrap it from outside (auth.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import anyio
from mcp.server import Server
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config.models import GatewaySettings
from app.gateway.http.body import checked_body
from app.gateway.http.fast_calls import FastCalls
from app.gateway.http.fast_sse import SseLane, SseSession
from app.gateway.http.responses import send_json
from app.gateway.sdk.streamable import DeferredStreamSessionManager

SSE_MESSAGES = "messages/"


class Endpoint:
    """One MCP server reachable over both HTTP transports under a path prefix ("" or "/servers/NAME")."""

    def __init__(self, server: Server[Any], prefix: str, settings: GatewaySettings, fast: FastCalls | None) -> None:
        """`fast`: the fast lane to the endpoint's handlers for plain calls (None: every call on the SDK's path)."""
        self.server = server
        self.prefix = prefix
        # The SDK's own limits sit just above ours: checked_body answers first, as a JSON-RPC error.
        max_body = settings.max_body_bytes + 1
        self.manager = DeferredStreamSessionManager(
            app=server,
            json_response=False,
            max_request_body_size=max_body,
            security_settings=None,  # Host/Origin are checked for every route by the guard around this app
            session_idle_timeout=settings.session_idle_s,  # abandoned sessions are closed, not kept an hour
            fast=fast,
        )
        limit = settings.max_body_bytes
        self.streamable = checked_body(StreamableHTTPASGIApp(self.manager), lambda: limit)
        # The SSE endpoint event tells clients where to POST: an absolute path under our prefix.
        self.sse = SseServerTransport(f"{prefix}/{SSE_MESSAGES}", max_request_body_size=max_body)
        self.sse_lane = SseLane(fast) if fast is not None else None
        self.sse_messages = checked_body(self._sse_post, lambda: limit, whole_message=True)

    async def _sse_post(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.sse_lane is None or not await self.sse_lane.answered(scope, receive, send):
            await self.sse.handle_post_message(scope, receive, send)

    async def serve_sse(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self.sse_lane
        if lane is None:
            async with self.sse.connect_sse(scope, receive, send) as (read_stream, write_stream):
                await self.server.run(read_stream, write_stream, self.server.create_initialization_options())
            return
        named: list[str] = []
        async with anyio.create_task_group() as calls:  # the session's lane calls, ended with it
            session = SseSession(None, calls)  # the lane's once the SDK has given its write stream and said its id

            def found(session_id: str) -> None:
                named.append(session_id)
                lane.sessions[session_id] = session

            try:
                async with self.sse.connect_sse(scope, receive, lane.spotting(send, found)) as (read_stream, write):
                    session.write = write
                    await self.server.run(read_stream, write, self.server.create_initialization_options())
            finally:
                for session_id in named:
                    lane.sessions.pop(session_id, None)
                calls.cancel_scope.cancel()


class GatewayApp:
    """A plain ASGI app (no router overhead on the hot path): a dict lookup on the path."""

    def __init__(
        self,
        health: Callable[[], dict[str, Any]],
        settings: GatewaySettings,
        routes: Mapping[str, ASGIApp] | None = None,
    ) -> None:
        """`routes`: more ASGI apps by path prefix (the admin API, /metrics), behind the same guard."""
        self.health = health
        self.settings = settings
        # Longest prefix first: /api/v1/admin is not /api/v1's.
        self.routes = dict(sorted((routes or {}).items(), key=lambda item: -len(item[0])))
        self.endpoints: dict[str, Endpoint] = {}
        self._stops: dict[str, anyio.Event] = {}  # ends the task hosting each endpoint's session manager
        self._task_group: anyio.abc.TaskGroup | None = None

    async def start(self, task_group: anyio.abc.TaskGroup) -> None:
        self._task_group = task_group

    async def add(self, key: str, server: Server[Any], fast: FastCalls | None, prefix: str) -> None:
        """Serve `server` under `prefix`; its session manager runs in its own task until `remove`."""
        endpoint = Endpoint(server, prefix, self.settings, fast)
        assert self._task_group is not None, "start() first"
        stop = anyio.Event()

        async def host(*, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
            async with endpoint.manager.run():
                task_status.started()
                await stop.wait()

        await self._task_group.start(host)
        self.endpoints[key] = endpoint
        self._stops[key] = stop

    def remove(self, key: str) -> None:
        self.endpoints.pop(key, None)
        stop = self._stops.pop(key, None)
        if stop is not None:
            stop.set()

    def stop_all(self) -> None:
        for key in list(self.endpoints):
            self.remove(key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == "/health":
            health = self.health()
            # Not 200 until every enabled server's first start is over, so scripts can wait on it.
            await send_json(send, 503 if health["status"] in ("starting", "stopping", "error") else 200, health)
            return
        for prefix, route in self.routes.items():
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                await route(scope, receive, send)
                return
        endpoint, rest = self._resolve(path)
        if endpoint is None:
            await send_json(send, 404, {"error": "not_found", "message": f"No such endpoint: {path}. MCP is at /mcp."})
            return
        if rest in ("/mcp", "/mcp/"):
            await endpoint.streamable(scope, receive, send)
        elif rest == "/sse" and scope["method"] == "GET":
            await endpoint.serve_sse(scope, receive, send)
        elif rest.startswith("/" + SSE_MESSAGES) and scope["method"] == "POST":
            await endpoint.sse_messages(scope, receive, send)
        else:
            await send_json(send, 404, {"error": "not_found", "message": f"No such endpoint: {path}. MCP is at /mcp."})

    def _resolve(self, path: str) -> tuple[Endpoint | None, str]:
        if path.startswith("/servers/"):
            name, _, rest = path.removeprefix("/servers/").partition("/")
            return self.endpoints.get(f"child:{name}"), "/" + rest
        return self.endpoints.get("*"), path


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
