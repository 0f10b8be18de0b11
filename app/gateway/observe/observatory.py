"""Observability wired to one gateway: the bus subscriber that feeds the history, the metrics, the
event stream (and OpenTelemetry when configured), and the HTTP routes that read them.

The composition root builds it with the history store it opened (or None: history off or
unusable) and passes key events to `key_event`. Nothing here sits on the call path: each event
costs a few dict operations and a put_nowait; disk writes happen on the store's writer thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from app.config.models import GatewaySettings
from app.gateway.events import (
    CacheCounted,
    CallFinished,
    CallStarted,
    CatalogChanged,
    ChildStateChanged,
    ClientConnected,
    ClientDisconnected,
    ConfigApplied,
    EventBus,
    GatewayStateChanged,
)
from app.gateway.observe.api import MetricsApp, ReadApi
from app.gateway.observe.history import HistoryStore
from app.gateway.observe.metrics import GatewayMetrics
from app.gateway.observe.recorder import CallRecorder
from app.gateway.observe.records import EventRecord
from app.gateway.observe.stored import stored_value
from app.gateway.observe.stream import EVERYONE, MAIN_ONLY, Audience, EventStream

log = logging.getLogger(__name__)
# Child states that are worth a line in the history (starting is noise: it always leads to another).
LIFECYCLE = {"running": "server_started", "failed": "server_failed", "disabled": "server_disabled",
             "stopped": "server_stopped"}  # fmt: skip
# A start after one of these is a restart.
RESTART_FROM = frozenset({"running", "backoff", "failed"})


class Observability:
    def __init__(
        self,
        gateway: Any,
        history: HistoryStore | None,
        *,
        settings: Callable[[], GatewaySettings] | None = None,
    ) -> None:
        """`gateway`: the Gateway (its bus, routes, children and clients). Call before gateway.start()."""
        self.gateway = gateway
        self.history = history
        self.settings: Callable[[], GatewaySettings] = settings or (lambda: gateway.applied.gateway)
        self.metrics = GatewayMetrics()
        self.stream = EventStream(lambda: self.settings().event_replay)
        bus: EventBus = gateway.bus
        self.recorder = CallRecorder(
            history=history, metrics=self.metrics, stream=self.stream, bus=bus,
            value_bytes=lambda: self.settings().history_value_bytes,
        )  # fmt: skip
        self.tracing: Any = None  # app.gateway.observe.tracing.Tracing, when configured and installed
        self._states: dict[str, str] = {}
        self._client_keys: dict[str, str] = {}
        self._unsubscribe = bus.subscribe(self._on_event)
        gateway.routes[ReadApi.PREFIX] = ReadApi(gateway, history, self.stream)
        gateway.routes["/metrics"] = MetricsApp(self.metrics, self.settings, self._refresh_gauges)

    # -- the bus (inline on the gateway's loop) ----------------------------------------------------

    def _on_event(self, event: object) -> None:
        if isinstance(event, CallStarted):
            self.recorder.started(event)
        elif isinstance(event, CallFinished):
            self.recorder.finished(event)
        elif isinstance(event, CacheCounted):
            {"hit": self.metrics.cache_hit, "miss": self.metrics.cache_miss, "evict": self.metrics.cache_evict}[
                event.kind
            ](event.server)
        elif isinstance(event, ChildStateChanged):
            self._child_state(event)
        elif isinstance(event, ClientConnected):
            self._client_keys[event.client_id] = event.key_name
            self.stream.publish(
                "client_connected",
                {"client_id": event.client_id, "client_name": event.client_name, "version": event.client_version,
                 "transport": event.transport, "key_name": event.key_name},
                Audience(key=event.key_name),
            )  # fmt: skip
        elif isinstance(event, ClientDisconnected):
            key = self._client_keys.pop(event.client_id, None)
            self.stream.publish("client_disconnected", {"client_id": event.client_id}, Audience(key=key))
        elif isinstance(event, GatewayStateChanged):
            self._gateway_state(event)
        elif isinstance(event, ConfigApplied):
            self.stream.publish("config", {"ok": event.ok, "message": event.message}, MAIN_ONLY)
        elif isinstance(event, CatalogChanged):
            for name in event.servers:
                if name not in self.gateway.supervisors:  # removed from the config: its series go too
                    self.metrics.forget_server(name)
                    self._states.pop(name, None)

    def _child_state(self, event: ChildStateChanged) -> None:
        before = self._states.get(event.name)
        self._states[event.name] = event.state
        self.metrics.child_state(event.name, event.state)
        if event.state == "starting" and before in RESTART_FROM:
            self.metrics.child_restarted(event.name)
        self.stream.publish(
            "server",
            {"server": event.name, "state": event.state, "error": event.error, "next_retry_at": event.next_retry_at},
            Audience(server=event.name),
        )
        kind = LIFECYCLE.get(event.state)
        if event.state == "backoff":
            kind = "server_crashed" if before == "running" else "server_backoff"
        if kind is None or before == event.state:
            return
        detail = event.error or ""
        if event.state == "backoff" and event.next_retry_at:
            detail += f" (retrying in {max(0.0, event.next_retry_at - time.time()):.1f} s)"
        self._record_event(kind, event.name, detail)

    def _gateway_state(self, event: GatewayStateChanged) -> None:
        if event.state == "starting":
            with contextlib.suppress(RuntimeError):
                self.stream.bind(asyncio.get_running_loop())
            self._start_tracing()
        self.stream.publish("gateway", {"state": event.state, "error": event.error}, EVERYONE)
        if event.state == "stopping":
            self.stream.close_all()  # open event streams end now, not at uvicorn's shutdown deadline

    # -- key events (from any thread) --------------------------------------------------------------

    def key_event(self, kind: str, name: str) -> None:
        """A key was rotated, added, revoked or changed (the verifier's `on_key_event`). Names only."""
        self._record_event(kind, name, "")
        self.stream.publish("key", {"kind": kind, "name": name}, MAIN_ONLY)

    def _record_event(self, kind: str, subject: str, detail: str) -> None:
        if self.history is not None:
            text = stored_value(detail, self.settings().history_value_bytes)
            self.history.record_event(EventRecord(at=time.time(), kind=kind, subject=subject, detail=text))

    # -- metrics of the moment ---------------------------------------------------------------------

    def _refresh_gauges(self) -> None:
        clients = self.gateway.clients()
        # A session is one MCP connection; a client is one program (name, version) under one key.
        self.metrics.sessions(len(clients))
        self.metrics.clients_connected(len({(c.name, c.version, c.identity.name) for c in clients}))
        if self.history is not None:
            self.metrics.history_dropped(self.history.dropped)

    # -- OpenTelemetry -----------------------------------------------------------------------------

    def _start_tracing(self) -> None:
        settings = self.settings()
        if self.tracing is not None or not settings.otel_endpoint:
            return
        from app.gateway.observe.tracing import start_tracing  # imports OpenTelemetry's SDK only now

        self.tracing = start_tracing(settings.otel_endpoint, settings.otel_service_name)
        if self.tracing is not None:
            self.gateway.bus.subscribe(self.tracing.on_event)

    def close(self) -> None:
        """Stop listening; flush spans. Blocking (an exporter's last batch): call it off the event loop."""
        self._unsubscribe()
        self.stream.close_all()
        if self.tracing is not None:
            self.tracing.close()
            self.tracing = None
