"""Serving the app: binding the port, the embedded uvicorn, bounded connections, and open access for tests.

uvicorn bounds the idle time between requests (keep-alive) but not the time a client may take to
send one: a client trickling headers or a body a byte at a time (slowloris) would hold a connection
forever. `bounded_protocol` adds that deadline and a cap on open connections per client address.
It subclasses uvicorn's httptools protocol at three documented parser callbacks; a test in
tests/gateway/test_serving.py fails if uvicorn moves them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import logging
import socket
import sys
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config.models import GatewaySettings
from app.gateway.errors import GatewayError
from app.gateway.security.identity import MAIN, SCOPE_KEY

log = logging.getLogger(__name__)
ASGIApp = Callable[..., Any]
_TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_TOO_MANY = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


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
    if sys.platform != "win32":
        # Lets a restart rebind while old connections sit in TIME_WAIT. On Windows SO_REUSEADDR means
        # something else (a second process may bind the same port), so it is never set there.
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


SHUTDOWN_GRACE = 2  # seconds uvicorn gives open requests to finish once the gateway stops


def embedded_server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn that leaves the process's signals to its owner."""
    return _EmbeddedServer(config)


def gateway_server(app: ASGIApp, settings: Callable[[], GatewaySettings]) -> uvicorn.Server:
    """uvicorn for the gateway: no logging, lifespan or websockets of its own; the request deadline and
    per-address cap of `bounded_protocol`."""
    config = uvicorn.Config(
        app,
        http=bounded_protocol(settings),
        log_config=None,
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
        timeout_keep_alive=max(1, round(settings().read_timeout_s)),
        ws="none",
        server_header=False,
        proxy_headers=False,  # no proxy in front: X-Forwarded-* must not be believed, nor parsed per request
        h11_max_incomplete_event_size=64 * 1024,
    )
    return _EmbeddedServer(config)


def bounded_protocol(settings: Callable[[], GatewaySettings]) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol with a deadline for reading each request (headers and body, from the
    connection's first byte) and at most `max_connections_per_client` open connections per address."""
    open_connections: collections.Counter[str] = collections.Counter()
    refused_once: set[str] = set()

    class BoundedHttpProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _address: str | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            address = self.client[0] if self.client else ""
            if open_connections[address] >= settings().max_connections_per_client:
                if address not in refused_once:  # one line per address, not one per connection
                    refused_once.add(address)
                    log.warning(
                        "Refusing connections from %s: it already has %d open", address, open_connections[address]
                    )
                transport.write(_TOO_MANY)
                transport.close()
                return
            self._address = address
            open_connections[address] += 1
            self._arm()  # a connection that never sends a request is closed too

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._address is not None:
                open_connections[self._address] -= 1
                if open_connections[self._address] <= 0:
                    del open_connections[self._address]
                    refused_once.discard(self._address)
                self._address = None
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._disarm()

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(settings().read_timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            cycle = self.cycle
            if cycle is None or not cycle.response_started:
                self.transport.write(_TOO_SLOW)
            self.transport.close()

    return BoundedHttpProtocol
