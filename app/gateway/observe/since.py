"""`--since` and `?since=`: a time the user types, as wall-clock seconds."""

from __future__ import annotations

import datetime as dt
import re
import time

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
HELP = "how far back: 90s, 10m, 2h, 3d, 1w, a date (2026-12-01) or a local time (2026-12-01T14:30)"


def parse_since(text: str, now: float | None = None) -> float:
    """Seconds since the epoch for "10m" (ago), "2026-12-01", "2026-12-01T14:30" (local unless it says
    its zone) or a plain number of epoch seconds. Raises ValueError with a sentence that shows the forms."""
    now = time.time() if now is None else now
    match = _RELATIVE.match(text)
    if match:
        return now - float(match[1]) * _UNITS[match[2].lower()]
    stripped = text.strip()
    try:
        return float(stripped)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time; use {HELP}") from None
    return when.timestamp()  # a naive time is local time
