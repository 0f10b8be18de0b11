"""Building history records for the tests (and the burst writer subprocess): no pytest here."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from app.gateway.observe import CallRecord, EventRecord

# A day ago: recent enough that the default 30-day retention keeps every record the tests write.
BASE_TIME = float(int(time.time()) - 86400)


def make_call(i: int, **fields: Any) -> CallRecord:
    """Call number `i`, started `i` seconds after BASE_TIME unless `started_at` is given."""
    record = CallRecord(
        call_id=f"call-{i}",
        started_at=BASE_TIME + i,
        client_name="claude-code",
        client_version="2.1.0",
        transport="streamable-http",
        key_name="main",
        server="files",
        tool="files__read",
        original="read",
        method="tools/call",
        arguments={"path": f"/tmp/{i}.txt"},
        result_size=120,
        content_kinds=("text",),
        is_error=False,
        error=None,
        status="ok",
        duration_ms=3.25,
        request_id=str(i),
        progress_token=None,
        result={"content": [{"type": "text", "text": f"file {i}"}]},
        decided_by=None,
    )
    return replace(record, **fields)


def make_event(i: int, **fields: Any) -> EventRecord:
    return replace(EventRecord(at=BASE_TIME + i, kind="server_started", subject="files", detail=f"pid {i}"), **fields)
