"""The gateway core: no Qt, no files of its own, loop-agnostic asyncio. This module is its public API:
the UI, the CLI and the composition root import from here, never from the subpackages."""

from app.gateway.children.model import ChildState
from app.gateway.errors import GatewayError
from app.gateway.events import (
    CallFinished,
    CallStarted,
    CatalogChanged,
    ChildStateChanged,
    ClientConnected,
    ClientDisconnected,
    ConfigApplied,
    Event,
    EventBus,
    GatewayStateChanged,
)
from app.gateway.http.serving import open_access
from app.gateway.runtime import ConfigSource, Gateway
from app.gateway.security.guard import GuardMiddleware
from app.gateway.security.identity import MAIN, KeyIdentity
from app.gateway.security.masking import mask_and_shorten, result_summary
from app.gateway.security.verifier import KeyVerifier

__all__ = [
    "MAIN",
    "CallFinished",
    "CallStarted",
    "CatalogChanged",
    "ChildState",
    "ChildStateChanged",
    "ClientConnected",
    "ClientDisconnected",
    "ConfigApplied",
    "ConfigSource",
    "Event",
    "EventBus",
    "Gateway",
    "GatewayError",
    "GatewayStateChanged",
    "GuardMiddleware",
    "KeyIdentity",
    "KeyVerifier",
    "mask_and_shorten",
    "open_access",
    "result_summary",
]
