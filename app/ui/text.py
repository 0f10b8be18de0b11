"""How values read in the panel: times, durations, shortened call payloads with secrets masked."""

from __future__ import annotations

import functools
import json
import time
from typing import Any

MAX_STRING = 300
MAX_ITEMS = 25
MAX_DEPTH = 6
MAX_TEXT = 6000
SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "authorization", "cookie", "credential")
MASK = "••••••"


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


def _is_secret(key: Any) -> bool:
    return _secret_name(key if isinstance(key, str) else str(key))


@functools.lru_cache(maxsize=4096)
def _secret_name(key: str) -> bool:
    # Field names repeat call after call ("text", "content", ...): the Qt thread, which shares the
    # GIL with the gateway's thread, checks each one once instead of on every call.
    lowered = key.lower()
    return any(word in lowered for word in SECRET_WORDS)


def shorten(value: Any, depth: int = 0) -> Any:
    """A small display copy of a payload: long strings, long lists and deep nesting cut, secret-named fields masked.

    It walks only what it keeps, so a huge result costs no more than its first few items.
    """
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING else f"{value[:MAX_STRING]}… ({len(value):,} characters)"
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for i, (key, item) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                out["…"] = f"{len(value) - MAX_ITEMS} more fields"
                break
            out[str(key)] = MASK if _is_secret(key) and item else shorten(item, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        items = [shorten(item, depth + 1) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"… {len(value) - MAX_ITEMS} more items")
        return items
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return shorten(dump(mode="json", by_alias=True, exclude_none=True), depth)
    return shorten(repr(value), depth)


def pretty(value: Any) -> str:
    """Readable JSON of an already shortened value, capped in length."""
    if value is None:
        return "—"
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n…"


def result_summary(result: Any) -> str:
    """One line for a tool result: the first text content, else what kinds of content it holds."""
    if isinstance(result, dict):
        content = result.get("content")
        if isinstance(content, list) and content:
            first = content[0]
            if isinstance(first, dict) and first.get("type") == "text":
                line = str(first.get("text", "")).strip().splitlines()
                return (line[0][:120] if line else "") + (" …" if len(content) > 1 else "")
            kinds = sorted({str(c.get("type")) for c in content if isinstance(c, dict)})
            return ", ".join(kinds)
        if "contents" in result:
            return f"{len(result['contents'] or [])} resource content(s)"
        if "messages" in result:
            return f"{len(result['messages'] or [])} prompt message(s)"
    return ""
