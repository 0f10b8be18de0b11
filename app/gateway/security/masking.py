"""One masking function for every stored or shown copy of a call: the panel, the history, the logs.

`mask_and_shorten` makes a small copy of a payload: long strings, long lists and deep nesting cut,
fields whose name looks secret (password, token, api_key, authorization, ...) masked, and any string
that looks like one of our API keys (a 40+ character URL-safe token) masked wherever it appears.
"""

from __future__ import annotations

import functools
import re
from typing import Any

MAX_STRING = 300
MAX_ITEMS = 25
MAX_DEPTH = 6
SECRET_WORDS = (
    "password", "passwd", "secret", "token", "api_key", "apikey", "api-key", "authorization", "cookie",
    "credential", "private_key", "session_id",
)
MASK = "••••••"
# Our keys are secrets.token_urlsafe(32): 43 URL-safe characters. Any run that long is masked.
KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{40,}")


@functools.lru_cache(maxsize=4096)
def secret_name(key: str) -> bool:
    # Field names repeat call after call ("text", "content", ...): each is checked once.
    lowered = key.lower()
    return any(word in lowered for word in SECRET_WORDS)


def _mask_keys(text: str) -> str:
    return KEY_SHAPE.sub(MASK, text) if len(text) >= 40 else text


def mask_and_shorten(value: Any, depth: int = 0, *, max_string: int = MAX_STRING) -> Any:
    """A small copy of `value` for display and storage; it walks only what it keeps, so a huge result
    costs no more than its first few items."""
    if isinstance(value, str):
        text = value if len(value) <= max_string else f"{value[:max_string]}… ({len(value):,} characters)"
        return _mask_keys(text)
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
            name = str(key)
            out[name] = MASK if secret_name(name) and item else mask_and_shorten(item, depth + 1, max_string=max_string)
        return out
    if isinstance(value, (list, tuple)):
        items = [mask_and_shorten(item, depth + 1, max_string=max_string) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"… {len(value) - MAX_ITEMS} more items")
        return items
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return mask_and_shorten(dump(mode="json", by_alias=True, exclude_none=True), depth, max_string=max_string)
    return mask_and_shorten(repr(value), depth, max_string=max_string)


def result_summary(result: Any) -> str:
    """One line for a tool result: the first text content, else what kinds of content it holds."""
    if isinstance(result, dict):
        content = result.get("content")
        if isinstance(content, list) and content:
            first = content[0]
            if isinstance(first, dict) and first.get("type") == "text":
                line = str(first.get("text", "")).strip().splitlines()
                return _mask_keys((line[0][:120] if line else "") + (" …" if len(content) > 1 else ""))
            kinds = sorted({str(c.get("type")) for c in content if isinstance(c, dict)})
            return ", ".join(kinds)
        if "contents" in result:
            return f"{len(result['contents'] or [])} resource content(s)"
        if "messages" in result:
            return f"{len(result['messages'] or [])} prompt message(s)"
    return ""
