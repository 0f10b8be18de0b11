"""The gate in front of every route: Host and Origin checks (DNS rebinding), then the API key.

A pure ASGI middleware: `BaseHTTPMiddleware` would buffer and break streaming. For each HTTP or
WebSocket request it

1. takes the key out of the request (`Authorization: Bearer`, `X-API-Key`, `?api_key=`), removing
   it from the scope in place, so nothing below (nor uvicorn's access log, which reads the same
   scope) ever sees it;
2. refuses a Host that is not loopback (or configured) and an Origin that is not a loopback page
   (or configured) with 403, public paths included;
3. refuses a missing or wrong key with 401 and says what to send, off the public paths;
4. leaves the identity the key grants in `scope[SCOPE_KEY]`, and keeps checking the key while the
   response streams: once it no longer verifies (rotated, revoked) the response is ended and the
   app below sees the client disconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

from app.gateway.http.responses import send_json
from app.gateway.security.identity import SCOPE_KEY, KeyIdentity

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]
Verify = Callable[[str], KeyIdentity | None]
Subscribe = Callable[[Callable[[], None]], Callable[[], None]]  # (on_change) -> unsubscribe
Names = Iterable[str] | Callable[[], Iterable[str]]  # fixed, or read on every request (config reloads)

QUERY_PARAM = "api_key"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
LOOPBACK_ORIGIN_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
UNAUTHORIZED_MESSAGE = (
    "Send the Switchboard API key as 'Authorization: Bearer <key>', 'X-API-Key: <key>' or '?api_key=<key>'. "
    "`switchboard show-key` prints it."
)
_BAD_HOST = "This gateway only answers requests addressed to localhost (Host header)."
_BAD_ORIGIN = "Requests from this web page's origin are not allowed; add it to gateway.allowed_origins to allow it."
_DISCONNECT = {"type": "http.disconnect"}


class GuardMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        verify: Verify,
        allowed_hosts: Names = (),
        allowed_origins: Names = (),
        public_paths: Names = ("/health",),
        subscribe: Subscribe | None = None,
        recheck_interval: float = 1.0,
    ) -> None:
        """`allowed_hosts`: Host names besides loopback ("192.168.1.5", "[fe80::1]"), any port.
        `allowed_origins`: exact origins besides loopback pages ("https://app.example").
        `public_paths`: paths served without a key (Host/Origin are still checked); a callable is read on
        every request, so a config reload can add /metrics (`gateway.metrics_public`).
        `subscribe`: told of key changes, so open streams are cut at once rather than within
        `recheck_interval` seconds (the verifier's `subscribe` fits)."""
        self.app = app
        self.verify = verify
        self._hosts = allowed_hosts
        self._origins = allowed_origins
        self._public = public_paths if callable(public_paths) else frozenset(public_paths)
        self.subscribe = subscribe
        self.recheck_interval = recheck_interval
        # Legacy SSE: session id -> the key its stream was opened with. A client that put the key in
        # the /sse URL is told to POST to /messages/?session_id=..., which carries no key; the session
        # id (random, known only to that client) stands for it, checked against the key as it is now.
        self.sse_sessions: dict[str, str] = {}

    @property
    def public_paths(self) -> frozenset[str]:
        return frozenset(_names(self._public))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        key = take_key(scope)  # first, so even a refused request leaves no key behind
        if not key and scope.get("method") == "POST":
            key = self.sse_sessions.get(_sse_session_id(scope), "")
        problem = self._host_or_origin_problem(scope)
        if problem is not None:
            log.warning("Refused a request to %s: %s", scope.get("path", ""), problem)
            await _refuse(scope, send, 403, {"error": "forbidden", "message": problem})
            return
        if scope.get("path") in set(_names(self._public)):
            await self.app(scope, receive, send)
            return
        identity = self.verify(key) if key else None
        if identity is None:
            log.info("Refused a request to %s: no valid API key", scope.get("path", ""))
            body = {"error": "unauthorized", "message": UNAUTHORIZED_MESSAGE}
            await _refuse(scope, send, 401, body, [(b"www-authenticate", b"Bearer")])
            return
        scope[SCOPE_KEY] = identity
        if scope["type"] == "http":
            await _GuardedResponse(self, key, scope).run(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    # -- Host and Origin --------------------------------------------------------------------

    def _host_or_origin_problem(self, scope: Scope) -> str | None:
        hosts = _header_values(scope, b"host")
        if len(hosts) != 1 or not self._host_allowed(hosts[0]):
            return _BAD_HOST
        origins = _header_values(scope, b"origin")
        if len(origins) > 1 or (origins and not self._origin_allowed(origins[0])):
            return _BAD_ORIGIN
        return None

    def _host_allowed(self, value: str) -> bool:
        name = host_name(value)
        if name is None:
            return False
        return name in LOOPBACK_HOSTS or name in {_bracketed(h.lower()) for h in _names(self._hosts)}

    def _origin_allowed(self, value: str) -> bool:
        origin = value.strip().lower().rstrip("/")
        if origin in {o.strip().lower().rstrip("/") for o in _names(self._origins)}:
            return True
        return is_loopback_origin(origin)


class _GuardedResponse:
    """One authorized HTTP request: forwards the response while its key still verifies."""

    def __init__(self, guard: GuardMiddleware, key: str, scope: Scope) -> None:
        self.guard = guard
        self.key = key
        # Only long-lived GET streams (Streamable HTTP's standalone stream, legacy /sse) need a watcher;
        # a POST's stream ends with its call and is re-checked on each piece it sends.
        self.long_lived = scope.get("method") == "GET"
        self.sse_session: str | None = None
        self.started = False  # response headers sent
        self.streaming = False  # more body to come: worth watching
        self.complete = False
        self.cut = False
        self.lock = asyncio.Lock()
        self.watcher: asyncio.Task[None] | None = None

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._send = send

        async def guarded_receive() -> Any:
            # After a cut, uvicorn also wakes a pending receive with a disconnect: the response is complete.
            return dict(_DISCONNECT) if self.cut else await receive()

        try:
            await self.guard.app(scope, guarded_receive, self._guarded_send)
        finally:
            if self.sse_session is not None:
                self.guard.sse_sessions.pop(self.sse_session, None)
            if self.watcher is not None:
                self.watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.watcher

    async def _guarded_send(self, message: Message) -> None:
        async with self.lock:
            if self.cut:
                return  # as a server does after a disconnect: the app notices on receive
            # Check at the start and for each later piece of a stream; a plain body follows its start at once.
            if (message["type"] == "http.response.start" or self.streaming) and self.guard.verify(self.key) is None:
                await self._cut_off()
                return
            if message["type"] == "http.response.body" and self.long_lived and self.sse_session is None:
                # Before it is sent: a client may POST to the endpoint the moment it reads it.
                self._note_sse_session(message.get("body", b""))
            await self._send(message)
            if message["type"] == "http.response.start":
                self.started = True
                if _is_event_stream(message):
                    self.streaming = True
                    self._watch()
            elif message["type"] == "http.response.body":
                if message.get("more_body", False):
                    self.streaming = True
                    self._watch()
                else:
                    self.complete = True

    def _note_sse_session(self, body: bytes) -> None:
        """The legacy SSE `endpoint` event names the session's POST URI: remember whose key opened it."""
        match = _ENDPOINT_EVENT.search(body)
        if match:
            self.sse_session = match.group(1).decode()
            self.guard.sse_sessions[self.sse_session] = self.key

    def _watch(self) -> None:
        if self.watcher is None and self.long_lived:
            self.watcher = asyncio.get_running_loop().create_task(self._watch_key())

    async def _watch_key(self) -> None:
        """Re-check the key on every change the verifier reports, and every `recheck_interval` anyway."""
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def on_change() -> None:  # may run in another thread
            with contextlib.suppress(RuntimeError):  # loop already closed: nothing left to cut
                loop.call_soon_threadsafe(changed.set)

        unsubscribe = self.guard.subscribe(on_change) if self.guard.subscribe is not None else None
        try:
            while not self.complete and not self.cut:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), self.guard.recheck_interval)
                changed.clear()
                if self.guard.verify(self.key) is None:
                    async with self.lock:
                        await self._cut_off()
        finally:
            if unsubscribe is not None:
                unsubscribe()

    async def _cut_off(self) -> None:
        """End the response now (lock held): its key no longer works."""
        if self.cut or self.complete:
            return
        self.cut = True
        log.info("Closed a response: the API key it was opened with no longer works")
        if not self.started:
            body = {"error": "unauthorized", "message": UNAUTHORIZED_MESSAGE}
            await send_json(self._send, 401, body, [(b"www-authenticate", b"Bearer")])
        else:
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})
        self.complete = True


_ENDPOINT_EVENT = re.compile(rb"event: ?endpoint\r?\ndata: ?[^\r\n]*[?&]session_id=([0-9a-f]{32})")


def _sse_session_id(scope: Scope) -> str:
    query = scope.get("query_string", b"")
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"session_id":
            return value.decode("latin-1")
    return ""


# -- taking the key out of the request --------------------------------------------------------


def take_key(scope: Scope) -> str:
    """The key the request presents ("" if none), removed from the scope's headers and query string."""
    key = ""
    kept: list[tuple[bytes, bytes]] = []
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer":
                key = key or token.strip()
                continue
        elif name == b"x-api-key":
            key = key or value.decode("latin-1").strip()
            continue
        kept.append((name, value))
    scope["headers"] = kept
    query_key, query = _take_from_query(scope.get("query_string", b""))
    scope["query_string"] = query
    return key or query_key


def _take_from_query(query: bytes) -> tuple[str, bytes]:
    if QUERY_PARAM.encode() not in query.lower() and b"%" not in query:
        return "", query
    key, kept = "", []
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        if _unquote(name) == QUERY_PARAM:
            key = key or _unquote(value)
        else:
            kept.append(part)
    return key, b"&".join(kept)


def _unquote(value: bytes) -> str:
    return unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8", "replace")


# -- Host and Origin parsing ------------------------------------------------------------------


def host_name(value: str) -> str | None:
    """The lower-cased host of a Host header without its port (IPv6 kept in brackets); None if malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1 :]
    else:
        name, sep, port = value.partition(":")
        rest = sep + port
    if rest and not (rest.startswith(":") and rest[1:].isdigit()):
        return None
    return name or None


# An origin is exactly scheme://host[:port]: a bracketed IPv6 address or a plain name, nothing after it.
# (urlsplit is too lenient: it reads `http://[::1].evil.example` as [::1].)
_ORIGIN = re.compile(r"^(https?)://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]{1,5}))?$")


def is_loopback_origin(origin: str) -> bool:
    match = _ORIGIN.match(origin.strip().lower())
    if match is None:
        return False
    port = match.group(3)
    if port is not None and not 0 < int(port) < 65536:
        return False
    return match.group(2).strip("[]") in LOOPBACK_ORIGIN_HOSTS


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _names(names: Names) -> Iterable[str]:
    return names() if callable(names) else names


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [v.decode("latin-1") for n, v in scope.get("headers", []) if n == name]


def _is_event_stream(message: Message) -> bool:
    return any(
        n.lower() == b"content-type" and v.lower().startswith(b"text/event-stream")
        for n, v in message.get("headers", [])
    )


# -- answers ----------------------------------------------------------------------------------


async def _refuse(
    scope: Scope, send: Send, status: int, body: dict[str, str], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": body["error"]})
    else:
        await send_json(send, status, body, headers or [])
