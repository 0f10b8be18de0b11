"""What the history keeps: one record per finished call and one per state change.

Records are built by the gateway's bus subscriber, which has already shortened and masked the
arguments and the result (one masking function in the core). The store never sees a raw payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

CallStatus = Literal["ok", "error", "cancelled", "timed out", "refused"]
CALL_STATUSES: tuple[str, ...] = ("ok", "error", "cancelled", "timed out", "refused")

# Who settled an approval, when the call needed one.
DecidedBy = Literal["user", "policy", "timeout"]


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_id: str
    started_at: float  # wall-clock seconds (time.time())
    client_name: str
    client_version: str
    transport: str
    key_name: str  # the key's NAME, never the key
    server: str
    tool: str  # the published name (server__tool)
    original: str  # the child's own name for it
    method: str  # tools/call, prompts/get, resources/read, ...
    arguments: Any  # a JSON value, already shortened and masked
    result_size: int | None
    content_kinds: tuple[str, ...]  # "text", "image", "resource", ...
    is_error: bool
    error: str | None
    status: CallStatus
    duration_ms: float | None
    request_id: str | None
    progress_token: str | None
    result: Any  # a JSON value, already shortened and masked
    decided_by: DecidedBy | None
    cached: bool = False
    # Set by the store on read: the paging cursor (pass it as `before_id`). None before storing.
    id: int | None = None


@dataclass(frozen=True, slots=True)
class EventRecord:
    at: float  # wall-clock seconds
    # "server_started" | "server_crashed" | "server_backoff" | "server_disabled" | "key_rotated" | ...
    kind: str
    subject: str  # a server or key NAME, never a key
    detail: str
    id: int | None = None  # set by the store on read, as for CallRecord
