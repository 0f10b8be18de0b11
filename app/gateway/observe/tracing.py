"""OpenTelemetry spans for calls, exported over OTLP/HTTP: only with the `otel` extra installed and
`gateway.otel_endpoint` set. This module is imported only then (Observability imports it lazily), so
without them OpenTelemetry's SDK and exporter are never loaded.

One SERVER span per call, a child of the W3C trace context the client sent in `_meta` (when it
did). While the call runs, the span is the current context of the task forwarding it: the SDK
stamps every request it sends with the current context (`traceparent` in `_meta`), so the child's
own spans join the trace beneath ours. Without this module the client's `traceparent` reaches the
child as it was sent.

The tracer provider is our own, never the process-global one: an embedding app's tracing and a
test's stay theirs.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)
EXPORT_DELAY_MS = 1000  # spans leave within about a second; the exporter runs on its own thread


def start_tracing(endpoint: str, service_name: str) -> Tracing | None:
    """A Tracing exporting to `endpoint`, or None (with a log line saying why) without the extra."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning(
            "gateway.otel_endpoint is set but OpenTelemetry's SDK is not installed, so no spans are exported; "
            "install Switchboard with the otel extra: pip install 'mcp-switchboard[otel]'"
        )
        return None
    from app import __version__

    provider = TracerProvider(resource=Resource.create({"service.name": service_name, "service.version": __version__}))
    exporter = OTLPSpanExporter(endpoint=endpoint)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=EXPORT_DELAY_MS))
    log.info("Exporting call spans over OTLP to %s", endpoint)
    return Tracing(provider)


class Tracing:
    def __init__(self, provider: Any) -> None:
        from opentelemetry import context, propagate, trace

        self._context = context
        self._propagate = propagate
        self._trace = trace
        self.provider = provider
        self.tracer = provider.get_tracer("switchboard")
        self._open: dict[int, tuple[Any, Any]] = {}  # call id -> (span, context token)

    def on_event(self, event: object) -> None:
        """A bus listener: CallStarted opens the span and makes it current in the forwarding task;
        CallFinished (published from the same task) ends it and restores the context."""
        from app.gateway.events import CallFinished, CallStarted

        if isinstance(event, CallStarted):
            self._start(event)
        elif isinstance(event, CallFinished):
            self._finish(event)

    def _start(self, event: Any) -> None:
        trace = self._trace
        parent = self._propagate.extract(event.trace) if event.trace else None
        span = self.tracer.start_span(
            f"{event.method} {event.target}",
            context=parent,
            kind=trace.SpanKind.SERVER,
            start_time=int(event.started_at * 1e9),
            attributes={
                "mcp.method.name": event.method, "mcp.server": event.server, "mcp.tool": event.target,
                "mcp.client.name": event.client_name, "switchboard.key": event.key_name,
                "jsonrpc.request.id": event.request_id or "",
            },
        )  # fmt: skip
        token = self._context.attach(trace.set_span_in_context(span))
        self._open[event.call_id] = (span, token)

    def _finish(self, event: Any) -> None:
        opened = self._open.pop(event.call_id, None)
        if opened is None:
            return
        span, token = opened
        trace = self._trace
        span.set_attribute("switchboard.status", event.status)
        if event.status != "ok":
            span.set_status(trace.Status(trace.StatusCode.ERROR, event.error or event.status))
        span.end()
        try:
            self._context.detach(token)
        except Exception:  # published from another context than its start: nothing to restore
            log.debug("span context of call %s not restored", event.call_id)

    def close(self) -> None:
        """Export what is pending and stop the exporter (blocking, up to its timeout)."""
        self.provider.shutdown()
