"""Typed gateway events (frozen dataclasses) and a small synchronous pub/sub bus.

Listeners are plain callables run inline on the loop: they must be cheap (append to a
buffer). The UI batches what it receives on a timer, so a burst of calls costs a few repaints.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # these modules import nothing of ours at run time; events.py stays free of their packages
    from app.gateway.observe.records import CallRecord
    from app.gateway.policy.approvals import PendingApproval

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChildStateChanged:
    name: str
    state: str
    error: str | None = None
    next_retry_at: float | None = None  # wall-clock seconds (time.time()), while in backoff


@dataclass(frozen=True, slots=True)
class CatalogChanged:
    """The merged tool/prompt/resource lists changed (a child started, stopped or said its lists changed)."""

    servers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClientConnected:
    client_id: str
    client_name: str
    client_version: str
    transport: str  # "streamable-http" | "sse"
    key_name: str
    connected_at: float


@dataclass(frozen=True, slots=True)
class ClientDisconnected:
    client_id: str


@dataclass(frozen=True, slots=True)
class CallStarted:
    call_id: int
    client_id: str
    client_name: str
    key_name: str
    method: str  # tools/call, prompts/get, resources/read, ...
    target: str  # the published name (tool or prompt) or resource URI
    server: str
    arguments: Any
    started_at: float
    # For the history and the event stream (defaults: a call refused before anything was known).
    client_version: str = ""
    transport: str = ""  # "streamable-http" | "sse" | "" (in-process)
    original: str = ""  # the child's own name for `target`
    request_id: str | None = None  # the client's JSON-RPC id
    progress_token: str | None = None  # the client's, when it asked for progress
    # The W3C trace context the client sent in `_meta` ({"traceparent": ..., "tracestate": ...}), if any.
    trace: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class CallFinished:
    call_id: int
    status: str  # "ok" | "error" | "cancelled" | "timed out" | "refused"
    duration_ms: float
    result: Any = None  # a shortened copy, never the full payload
    error: str | None = None
    cached: bool = False  # answered from the response cache: the child never saw it
    decided_by: str | None = None  # "user" | "policy" | "timeout": who settled whether a tool call may run


@dataclass(frozen=True, slots=True)
class GatewayStateChanged:
    state: str  # "starting" | "running" | "stopping" | "stopped" | "error"
    url: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ConfigApplied:
    """The config file changed: applied (`ok`), or broken and ignored (the last good config runs)."""

    ok: bool
    message: str
    external: bool = True  # an edit on disk (worth telling the user), not a change this process made


@dataclass(frozen=True, slots=True)
class CallRecorded:
    """A finished call as the history stores it (shortened and masked): what the panel shows in detail.
    Published by the observability subscriber right after the call's CallFinished."""

    record: CallRecord


@dataclass(frozen=True, slots=True)
class ApprovalRequested:
    """A call waits for approval (its policy is `ask`): the tray and the panel show it."""

    approval: PendingApproval


@dataclass(frozen=True, slots=True)
class ApprovalSettled:
    approval_id: str
    outcome: str  # "approved" | "denied" | "timed out" | "withdrawn" (the client went away)
    decided_by: str | None  # "user" | "timeout" | None (withdrawn)


@dataclass(frozen=True, slots=True)
class CacheCounted:
    """The response cache answered a call (hit), missed one, or evicted an entry for room (for /metrics)."""

    server: str
    kind: str  # "hit" | "miss" | "evict"


Event = (
    ChildStateChanged
    | CatalogChanged
    | ClientConnected
    | ClientDisconnected
    | CallStarted
    | CallFinished
    | CallRecorded
    | GatewayStateChanged
    | ConfigApplied
    | ApprovalRequested
    | ApprovalSettled
    | CacheCounted
)
Listener = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must never break the gateway
                log.exception("event listener failed on %s", type(event).__name__)
