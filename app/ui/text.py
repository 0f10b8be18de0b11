"""How values read in the panel: times, durations, and call payloads (shortened and masked by the core)."""

from __future__ import annotations

import json
import time
from typing import Any

from app.gateway import mask_and_shorten, result_summary

MAX_TEXT = 6000
__all__ = ["clock", "duration", "pretty", "result_summary", "shorten", "since"]


def clock(ts: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) if ts else ""


def since(ts: float | None, now: float | None = None) -> str:
    """"12 s ago", "3 min ago", "2 h ago"."""
    if not ts:
        return ""
    seconds = max(0, int((now or time.time()) - ts))
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def duration(ms: float | None) -> str:
    if ms is None:
        return ""
    if ms < 1:
        return "<1 ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    return f"{ms / 60_000:.1f} min"


def shorten(value: Any) -> Any:
    """The core's one masking function: what the panel shows is what history stores."""
    return mask_and_shorten(value)


def pretty(value: Any) -> str:
    """Readable JSON of an already shortened value, capped in length."""
    if value is None:
        return "—"
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n…"
