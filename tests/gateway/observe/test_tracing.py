"""W3C trace context end to end: a 2026-era client's `traceparent` reaches the child; with the otel extra
and an endpoint, each call is a span exported over OTLP/HTTP to a real receiver on 127.0.0.1, and the
child continues the trace beneath it. Without an endpoint OpenTelemetry's SDK is never imported."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client

from tests.conftest import ROOT, SERVERS, running, wait_for

pytestmark = pytest.mark.anyio
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{SPAN_ID}-01"
CHILD = {"probe": {"command": sys.executable, "args": [str(SERVERS / "meta_echo.py")]}}


class Receiver(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver: keeps every exported span (decoded with the OTLP protobuf schema)."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/traces"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.server.spans.extend(scope.spans)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def meta_seen_by_child(url: str) -> dict[str, Any]:
    async with Client(url, mode="2026-07-28") as client:
        result = await client.call_tool("probe__meta", {}, meta={"traceparent": TRACEPARENT})  # type: ignore[typeddict-unknown-key]
    return json.loads(result.content[0].text)  # type: ignore[union-attr]


async def test_without_an_endpoint_the_clients_trace_context_reaches_the_child_as_sent(gateway_factory: Any) -> None:
    gw = await gateway_factory(CHILD)
    await wait_for(running(gw, "probe"))
    meta = await meta_seen_by_child(gw.url)
    assert meta["traceparent"] == TRACEPARENT


async def test_with_an_endpoint_each_call_is_a_span_in_the_clients_trace(gateway_factory: Any, receiver: Any) -> None:
    pytest.importorskip("opentelemetry.sdk", reason="the otel extra (make test installs it)")
    gw = await gateway_factory(CHILD, otel_endpoint=receiver.url, otel_service_name="sb-test")
    await wait_for(running(gw, "probe"))
    meta = await meta_seen_by_child(gw.url)
    await wait_for(lambda: any(s.name == "tools/call probe__meta" for s in receiver.spans), timeout=30)
    span = next(s for s in receiver.spans if s.name == "tools/call probe__meta")
    assert span.trace_id.hex() == TRACE_ID  # the client's trace
    assert span.parent_span_id.hex() == SPAN_ID  # beneath the client's span
    attributes = {a.key: a.value.string_value for a in span.attributes}
    assert attributes["mcp.server"] == "probe" and attributes["switchboard.status"] == "ok"
    # The child continues the same trace, beneath the gateway's span (the SDK stamps the current context).
    _, trace_id, parent_id, _ = meta["traceparent"].split("-")
    assert trace_id == TRACE_ID and parent_id != SPAN_ID
    ours = {s.span_id.hex() for s in receiver.spans if s.trace_id.hex() == TRACE_ID}
    assert parent_id in ours


PROBE = """
import asyncio, sys
from pathlib import Path
blocked = sys.argv[2] == "blocked"
if blocked:  # as if the otel extra were not installed: its modules cannot be imported
    class NoOtelSdk:
        def find_spec(self, name, path=None, target=None):
            if name.startswith(("opentelemetry.sdk", "opentelemetry.exporter")):
                raise ImportError(f"No module named {name!r}")
    sys.meta_path.insert(0, NoOtelSdk())
from app.launch import build_services
from app.gateway import open_access
from mcp import Client

async def main():
    services = build_services(Path(sys.argv[1]), guard=open_access)
    await services.gateway.start()
    try:
        for _ in range(500):
            if services.gateway.supervisors["probe"].state.value == "running":
                break
            await asyncio.sleep(0.02)
        async with Client(services.gateway.url, mode="legacy") as client:
            print("answered", bool((await client.call_tool("probe__meta", {})).content))
    finally:
        await services.gateway.stop()
        services.close()
    print("sdk imported", any(m.startswith("opentelemetry.sdk") for m in sys.modules))

asyncio.run(main())
"""


@pytest.mark.parametrize("case", ["no endpoint", "blocked"])
def test_opentelemetrys_sdk_is_imported_only_when_configured_and_installed(tmp_path: Any, case: str) -> None:
    """"blocked" hides the installed extra behind an import hook: the Linux venv has it, a user's may not."""
    from tests.conftest import write_config

    gateway = {"otel_endpoint": "http://127.0.0.1:9/v1/traces"} if case == "blocked" else {}
    config = write_config(tmp_path / "config.json", CHILD, **gateway)
    env = {**os.environ, "SWITCHBOARD_HOME": str(tmp_path / "home"),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}  # fmt: skip
    out = subprocess.run([sys.executable, "-c", PROBE, str(config), case], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=90)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "answered True" in out.stdout and "sdk imported False" in out.stdout
    if case == "blocked":
        assert "otel extra" in out.stderr
