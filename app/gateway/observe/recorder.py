"""Calls into records: the bus subscriber that pairs each CallStarted with its CallFinished.

Runs inline on the gateway's loop, so it does the least it can: the arguments are masked and cut
once, at the start (the event stream shows them while the call runs); at the end the result is cut
the same way and the finished `CallRecord` goes to each sink: the history's queue (a put_nowait),
the metrics (a few dict lookups), the event stream, and the bus as `CallRecorded` for the panel.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from app.gateway.events import CallFinished, CallRecorded, CallStarted, EventBus
from app.gateway.observe.history import HistoryStore
from app.gateway.observe.metrics import GatewayMetrics
from app.gateway.observe.records import CallRecord
from app.gateway.observe.stored import result_facts, stored_value
from app.gateway.observe.stream import Audience, EventStream

log = logging.getLogger(__name__)
# A CallStarted whose CallFinished never comes is a bug elsewhere; never let it grow without bound.
MAX_PENDING = 100_000
_FIELDS = tuple(f.name for f in dataclasses.fields(CallRecord))
# Tool labels for metrics come from the catalog; these stand in where the name is the client's own.
UNKNOWN_TOOL = "unknown"
LABELLED_METHODS = ("tools/call", "prompts/get")


def record_dict(record: CallRecord) -> dict[str, Any]:
    """A record as JSON-ready fields (the API's and the event stream's shape)."""
    out = {name: getattr(record, name) for name in _FIELDS}
    out["content_kinds"] = list(record.content_kinds)
    return out


def tool_label(event: CallStarted) -> str:
    """The metrics label of a call's tool: a catalog name, never free text from a client."""
    if not event.original:  # refused before routing: the name is whatever the client sent
        return UNKNOWN_TOOL
    return event.target if event.method in LABELLED_METHODS else event.method


class _Started:
    __slots__ = ("arguments", "event", "label")

    def __init__(self, event: CallStarted, arguments: Any, label: str) -> None:
        self.event = event
        self.arguments = arguments
        self.label = label


class CallRecorder:
    def __init__(
        self,
        *,
        history: HistoryStore | None,
        metrics: GatewayMetrics,
        stream: EventStream,
        bus: EventBus,
        value_bytes: Callable[[], int],
    ) -> None:
        self.history = history
        self.metrics = metrics
        self.stream = stream
        self.bus = bus
        self.value_bytes = value_bytes
        self._pending: dict[int, _Started] = {}

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def started(self, event: CallStarted) -> None:
        if len(self._pending) >= MAX_PENDING:
            log.warning("history: %d calls started and never finished; forgetting the oldest", MAX_PENDING)
            self._pending.pop(next(iter(self._pending)))
        arguments = stored_value(event.arguments, self.value_bytes())
        started = _Started(event, arguments, tool_label(event))
        self._pending[event.call_id] = started
        self.metrics.call_started(event.server, started.label)
        self.stream.publish(
            "call_started",
            {
                "call_id": str(event.call_id), "started_at": event.started_at, "client_name": event.client_name,
                "key_name": event.key_name, "server": event.server, "tool": event.target, "method": event.method,
                "arguments": arguments,
            },
            Audience(key=event.key_name, server=event.server),
        )  # fmt: skip

    def finished(self, event: CallFinished) -> None:
        started = self._pending.pop(event.call_id, None)
        if started is None:
            return
        s = started.event
        cap = self.value_bytes()
        size, kinds, is_error = result_facts(event.result)
        record = CallRecord(
            call_id=str(s.call_id), started_at=s.started_at, client_name=s.client_name,
            client_version=s.client_version, transport=s.transport, key_name=s.key_name, server=s.server,
            tool=s.target, original=s.original, method=s.method, arguments=started.arguments, result_size=size,
            content_kinds=kinds, is_error=is_error, error=stored_value(event.error, cap), status=event.status,  # type: ignore[arg-type]
            duration_ms=event.duration_ms, request_id=s.request_id, progress_token=s.progress_token,
            result=stored_value(event.result, cap), decided_by=event.decided_by, cached=event.cached,  # type: ignore[arg-type]
        )  # fmt: skip
        if self.history is not None:
            self.history.record_call(record)
        self.metrics.call_finished(s.server, started.label, event.status, event.duration_ms / 1000, event.cached)
        self.stream.publish("call", record_dict(record), Audience(key=s.key_name, server=s.server))
        self.bus.publish(CallRecorded(record))
