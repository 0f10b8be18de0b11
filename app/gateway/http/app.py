"""The Starlette app: /mcp (Streamable HTTP), /sse + /messages/ (legacy SSE), /health, and each child alone
under /servers/NAME/. Auth and Host/Origin checks wrap it from outside (auth.py)."""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Callable
from typing import Any

import anyio
import orjson
import uvicorn
from mcp.server import Server
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from starlette.types import ASGIApp, Receive, Scope, Send

from app.gateway.errors import GatewayError
from app.gateway.sdk.streamable import DeferredStreamSessionManager
from app.gateway.security.identity import MAIN, SCOPE_KEY

SSE_MESSAGES = "messages/"


class Endpoint:
    """One MCP server reachable over both HTTP transports under a path prefix ("" or "/servers/NAME")."""

    def __init__(self, server: Server[Any], prefix: str, max_body: int) -> None:
        self.server = server
        self.prefix = prefix
        self.manager = DeferredStreamSessionManager(
            app=server,
            json_response=False,
            max_request_body_size=max_body,
            security_settings=None,  # Host/Origin are checked for every route by the guard around this app
            session_idle_timeout=3600,
        )
        self.streamable = StreamableHTTPASGIApp(self.manager)
        # The SSE endpoint event tells clients where to POST: an absolute path under our prefix.
        self.sse = SseServerTransport(f"{prefix}/{SSE_MESSAGES}", max_request_body_size=max_body)

    async def serve_sse(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self.sse.connect_sse(scope, receive, send) as (read_stream, write_stream):
            await self.server.run(read_stream, write_stream, self.server.create_initialization_options())


class GatewayApp:
    """A plain ASGI app (no router overhead on the hot path): a dict lookup on the path."""

    def __init__(self, health: Callable[[], dict[str, Any]], max_body: int) -> None:
        self.health = health
        self.max_body = max_body
        self.endpoints: dict[str, Endpoint] = {}
        self._stops: dict[str, anyio.Event] = {}  # ends the task hosting each endpoint's session manager
        self._task_group: anyio.abc.TaskGroup | None = None

    async def start(self, task_group: anyio.abc.TaskGroup) -> None:
        self._task_group = task_group

    async def add(self, key: str, server: Server[Any], prefix: str) -> None:
        """Serve `server` under `prefix`; its session manager runs in its own task until `remove`."""
        endpoint = Endpoint(server, prefix, self.max_body)
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
            await _json(send, 200, self.health())
            return
        endpoint, rest = self._resolve(path)
        if endpoint is None:
            await _json(send, 404, {"error": "not_found", "message": f"No such endpoint: {path}. MCP is at /mcp."})
            return
        if rest in ("/mcp", "/mcp/"):
            await endpoint.streamable(scope, receive, send)
        elif rest == "/sse" and scope["method"] == "GET":
            await endpoint.serve_sse(scope, receive, send)
        elif rest.startswith("/" + SSE_MESSAGES) and scope["method"] == "POST":
            await endpoint.sse.handle_post_message(scope, receive, send)
        else:
            await _json(send, 404, {"error": "not_found", "message": f"No such endpoint: {path}. MCP is at /mcp."})

    def _resolve(self, path: str) -> tuple[Endpoint | None, str]:
        if path.startswith("/servers/"):
            name, _, rest = path.removeprefix("/servers/").partition("/")
            return self.endpoints.get(f"child:{name}"), "/" + rest
        return self.endpoints.get("*"), path


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


# -- serving it ----------------------------------------------------------------------------------
def open_access(app: ASGIApp) -> ASGIApp:
    """No guard (tests, embedding): every request acts with the main key's full view, said explicitly,
    because a request that reaches the gateway without an identity sees nothing."""

    async def with_main_identity(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope[SCOPE_KEY] = MAIN
        await app(scope, receive, send)

    return with_main_identity


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before serving, so a busy port is a sentence, not uvicorn's sys.exit(1)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only for TCP-proto
    # listeners. Without it each response's body waits ~40 ms for the client's delayed ACK of its head.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
            raise GatewayError(
                f"Port {port} is in use by another program.",
                "Choose another port (--port, or gateway.port in the config file).",
                kind="port_in_use",
                port=port,
            ) from None
        raise GatewayError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class _EmbeddedServer(uvicorn.Server):
    """uvicorn that leaves signals to its host (the CLI or the Qt app)."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


def embedded_server(config: uvicorn.Config) -> uvicorn.Server:
    return _EmbeddedServer(config)
