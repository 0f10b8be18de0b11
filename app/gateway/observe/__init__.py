"""Observability building blocks, off the call path: the call history and the metrics.

The gateway's bus subscribers turn events into `CallRecord` / `EventRecord` values for a
`HistoryStore` (SQLite today) and into `GatewayMetrics` updates served at /metrics.
"""

from app.gateway.observe.history import MAX_PAGE, HistoryError, HistoryStore
from app.gateway.observe.metrics import CONTENT_TYPE, GatewayMetrics
from app.gateway.observe.records import CALL_STATUSES, CallRecord, CallStatus, EventRecord
from app.gateway.observe.sqlite_store import SqliteHistory

__all__ = [
    "CALL_STATUSES",
    "CONTENT_TYPE",
    "MAX_PAGE",
    "CallRecord",
    "CallStatus",
    "EventRecord",
    "GatewayMetrics",
    "HistoryError",
    "HistoryStore",
    "SqliteHistory",
]
