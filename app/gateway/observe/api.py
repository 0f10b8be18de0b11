"""The read API: /api/v1/calls, /api/v1/servers, /api/v1/clients, /api/v1/events (SSE) and /metrics.

Plain ASGI apps mounted through `Gateway.routes`, so they sit behind the guard: the caller's
KeyIdentity is in the scope. The main key sees everything; a per-client key sees its own calls and
clients and the servers it may use. /metrics is the main key's, or anyone's on this machine when
`gateway.metrics_public` is on (the guard then lets it through without a key).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import parse_qs

import anyio
import orjson

from app.config.models import GatewaySettings
from app.gateway.http.responses import send_json
from app.gateway.observe.history import MAX_PAGE, HistoryError, HistoryStore
from app.gateway.observe.metrics import CONTENT_TYPE, GatewayMetrics
from app.gateway.observe.recorder import record_dict
from app.gateway.observe.records import CALL_STATUSES
from app.gateway.observe.since import HELP as SINCE_HELP
from app.gateway.observe.since import parse_since
from app.gateway.observe.stream import EventStream, is_main
from app.gateway.security.identity import SCOPE_KEY, KeyIdentity

Scope = Mapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
PING_S = 15.0
LOOPBACK_CLIENTS = frozenset({"127.0.0.1", "::1", "localhost"})


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


class Observed(Protocol):
    """What the API reads of the gateway, on its loop."""

    def children(self) -> list[Any]: ...

    def clients(self) -> list[Any]: ...


class ReadApi:
    """/api/v1/*: one small handler per path, JSON out; history reads run off the loop."""

    PREFIX = "/api/v1"

    def __init__(self, gateway: Observed, history: HistoryStore | None, stream: EventStream) -> None:
        self.gateway = gateway
        self.history = history
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        identity = scope.get(SCOPE_KEY)
        name = scope["path"].removeprefix(self.PREFIX).strip("/")
        try:
            if not isinstance(identity, KeyIdentity):
                raise ApiError(401, "unauthorized", "Send the API key.")
            if scope["method"] != "GET":
                raise ApiError(405, "method_not_allowed", f"{scope['path']} answers GET only.")
            query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
            if name == "events":
                await self._events(scope, receive, send, identity, query)
                return
            handler = {"calls": self._calls, "servers": self._servers, "clients": self._clients}.get(name)
            if handler is None:
                raise ApiError(404, "not_found", f"No such endpoint: {scope['path']}. See /api/v1/calls, "
                               "/api/v1/servers, /api/v1/clients and /api/v1/events.")  # fmt: skip
            body = await handler(identity, query)
        except ApiError as exc:
            await send_json(send, exc.status, {"error": exc.error, "message": exc.message})
            return
        await send_json(send, 200, body)

    # -- /calls ---------------------------------------------------------------------------------

    async def _calls(self, identity: KeyIdentity, query: dict[str, str]) -> dict[str, Any]:
        if self.history is None:
            raise ApiError(503, "no_history", "The call history is off (gateway.history) or could not be opened.")
        unknown = set(query) - {"server", "tool", "client", "status", "key", "since", "before", "limit", "q"}
        if unknown:
            raise ApiError(400, "bad_request", f"Unknown parameter {sorted(unknown)[0]!r}; use server, tool, "
                           "client, status, key, since, before, limit or q.")  # fmt: skip
        status = query.get("status")
        if status is not None and status not in CALL_STATUSES:
            raise ApiError(400, "bad_request", f"status must be one of {', '.join(CALL_STATUSES)}.")
        since = None
        if "since" in query:
            try:
                since = parse_since(query["since"])
            except ValueError:
                raise ApiError(400, "bad_request", f"since: use {SINCE_HELP}.") from None
        limit = _int(query, "limit", 50, 1, MAX_PAGE)
        before = _int(query, "before", None, 1, None)
        # A per-client key reads its own calls only, whatever it asks for.
        key = query.get("key") if is_main(identity) else identity.name
        history = self.history

        def read() -> list[Any]:
            return history.calls(
                server=query.get("server"), tool=query.get("tool"), client=query.get("client"), key_name=key,
                status=status, since=since, before_id=before, limit=limit, text=query.get("q") or None,
            )  # fmt: skip

        try:
            records = await anyio.to_thread.run_sync(read)
        except HistoryError as exc:
            raise ApiError(503, "history_unavailable", str(exc)) from None
        calls = [record_dict(r) for r in records]
        more = len(records) == limit and records[-1].id is not None
        return {"calls": calls, "next_before": records[-1].id if more else None}

    # -- /servers and /clients -------------------------------------------------------------------

    async def _servers(self, identity: KeyIdentity, query: dict[str, str]) -> dict[str, Any]:
        servers = [
            {
                "name": s.name, "kind": s.kind, "state": s.state.value, "enabled": s.enabled, "error": s.error,
                "next_retry_at": s.next_retry_at, "running_since": s.running_since, "calls": s.calls,
                "tools": len(s.lists.tools), "prompts": len(s.lists.prompts), "resources": len(s.lists.resources),
            }
            for s in self.gateway.children()
            if identity.allows_server(s.name)
        ]  # fmt: skip
        return {"servers": servers}

    async def _clients(self, identity: KeyIdentity, query: dict[str, str]) -> dict[str, Any]:
        main = is_main(identity)
        clients = [
            {
                "client_id": c.client_id, "name": c.name, "version": c.version, "transport": c.transport,
                "key_name": c.identity.name, "connected_at": c.connected_at, "last_seen": c.last_seen,
                "calls": c.calls,
            }
            for c in self.gateway.clients()
            if main or c.identity.name == identity.name
        ]  # fmt: skip
        return {"clients": clients}

    # -- /events ---------------------------------------------------------------------------------

    async def _events(
        self, scope: Scope, receive: Receive, send: Send, identity: KeyIdentity, query: dict[str, str]
    ) -> None:
        last = _last_event_id(scope, query)
        subscription, backlog, gap = self.stream.subscribe(identity, last)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-store"),
                (b"x-accel-buffering", b"no"),
            ]})  # fmt: skip
            head = b"retry: 2000\n\n"
            if gap:
                note = {"message": "Some events since Last-Event-ID are no longer kept; read /api/v1/calls."}
                head += b"event: replay_gap\ndata: " + orjson.dumps(note) + b"\n\n"
            await send({"type": "http.response.body", "body": head + b"".join(backlog), "more_body": True})
            async with anyio.create_task_group() as tg:

                async def until_disconnect() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    tg.cancel_scope.cancel()

                tg.start_soon(until_disconnect)
                await self._pump(subscription, send)
                tg.cancel_scope.cancel()
            with contextlib.suppress(Exception):  # the client may be gone already
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.stream.unsubscribe(subscription)

    async def _pump(self, subscription: Any, send: Send) -> None:
        while True:
            frame: bytes | None = b": ping\n\n"
            with anyio.move_on_after(PING_S):
                frame = await subscription.next()
            if frame is None:
                return
            frames = [frame]
            while not subscription.queue.empty() and len(frames) < 256:  # a burst goes out in one write
                more = subscription.queue.get_nowait()
                if not more:
                    await send({"type": "http.response.body", "body": b"".join(frames), "more_body": True})
                    return
                frames.append(more)
            await send({"type": "http.response.body", "body": b"".join(frames), "more_body": True})


class MetricsApp:
    """/metrics: the Prometheus text format. Gauges that describe the moment are set as it is scraped."""

    def __init__(
        self,
        metrics: GatewayMetrics,
        settings: Callable[[], GatewaySettings],
        refresh: Callable[[], None],
    ) -> None:
        self.metrics = metrics
        self.settings = settings
        self.refresh = refresh

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        identity = scope.get(SCOPE_KEY)
        if isinstance(identity, KeyIdentity):
            if not is_main(identity):
                await send_json(send, 403, {"error": "forbidden", "message": "/metrics needs the main API key."})
                return
        else:  # let through without a key: only with metrics_public on, and only from this machine
            client = (scope.get("client") or ("", 0))[0]
            if not self.settings().metrics_public or client not in LOOPBACK_CLIENTS:
                message = "/metrics without a key is served to this machine only, with gateway.metrics_public on."
                await send_json(send, 403, {"error": "forbidden", "message": message})
                return
        self.refresh()
        body = self.metrics.render()
        headers = [(b"content-type", CONTENT_TYPE.encode()), (b"content-length", str(len(body)).encode()),
                   (b"cache-control", b"no-store")]  # fmt: skip
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _int(query: dict[str, str], name: str, default: int | None, low: int, high: int | None) -> Any:
    if name not in query:
        return default
    text = query[name]
    if not text.isdigit() or int(text) < low or (high is not None and int(text) > high):
        bound = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise ApiError(400, "bad_request", f"{name} must be a whole number {bound}, got {text!r}.")
    return int(text)


def _last_event_id(scope: Scope, query: dict[str, str]) -> int | None:
    """Last-Event-ID (what EventSource sends on a reconnect), or ?last_event_id= for a first connect."""
    value = query.get("last_event_id")
    for name, header in scope.get("headers", []):
        if name == b"last-event-id":
            value = header.decode("latin-1")
    value = (value or "").strip()
    return int(value) if value.isdigit() else None
