"""What serves one endpoint: "*" (every child, merged names) or one child alone under its own names.

Each gets a Router over its catalog, the SDK server built on that Router, and the fast lane to the same
handlers (http/fast_calls.py), so a call reaches the same code whichever way it comes in.
"""

from __future__ import annotations

from typing import Protocol

from app.gateway.http.fast_calls import FastCalls
from app.gateway.routing.catalog import Catalog
from app.gateway.routing.handlers import Hub, Router
from app.gateway.routing.server import GatewayServer, build_server


class Served(Hub, Protocol):
    """What an endpoint needs of the gateway: the Router's hub, and the catalogs it keeps up to date."""

    catalog: Catalog
    child_catalogs: dict[str, Catalog]


def endpoint(gateway: Served, name: str) -> tuple[GatewayServer, FastCalls]:
    """The SDK server of endpoint `name` ("*" or a child's name), and the fast lane to its handlers."""
    if name == "*":
        router = Router(name, gateway, lambda: gateway.catalog, lambda: gateway.catalog)
        return build_server(router), FastCalls(router, gateway.connected)
    own = lambda: gateway.child_catalogs.get(name) or Catalog.empty()  # noqa: E731
    router = Router(name, gateway, own, lambda: gateway.catalog)
    return build_server(router, name=name), FastCalls(router, gateway.connected)
