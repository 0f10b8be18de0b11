"""What of a call's payload is kept: a copy masked by the one masking function and cut to a byte cap,
and the facts about a result that cost nothing to read (its size, its kinds of content, isError).

Both run inline on the gateway's loop for every call, so both look only at what they keep: a
50 MiB result costs its first few items, never a walk or a serialisation of the whole.
"""

from __future__ import annotations

from typing import Any

import orjson

from app.gateway.security.masking import mask_and_shorten

# Each string is first cut to a quarter of the cap (a value of several fields then still shows
# every field); if the copy is still over the cap, the strings are cut harder.
_FIRST_SHARE = 4
_SMALLEST_STRING = 16


def stored_value(value: Any, cap: int) -> Any:
    """`value` masked and shortened so that its JSON is at most about `cap` bytes."""
    if value is None:
        return None
    max_string = max(_SMALLEST_STRING, cap // _FIRST_SHARE)
    while True:
        kept = mask_and_shorten(value, max_string=max_string)
        if _json_size(kept) <= cap or max_string <= _SMALLEST_STRING:
            break
        max_string = max(_SMALLEST_STRING, max_string // 4)
    if _json_size(kept) > cap:  # many small fields: keep the beginning of its text
        text = orjson.dumps(kept, default=str).decode()
        kept = f"{text[: max(0, cap - 40)]}… ({len(text):,} characters)"
    return kept


def _json_size(value: Any) -> int:
    try:
        return len(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))
    except (TypeError, orjson.JSONEncodeError):
        return len(repr(value))


def result_facts(result: Any) -> tuple[int | None, tuple[str, ...], bool]:
    """(size, content kinds, isError) of a raw result dict. Size counts the characters of its text and
    of its base64 data (tool content, resource contents, prompt messages), not of the JSON around them."""
    if not isinstance(result, dict):
        return None, (), False
    items: list[Any] = []
    for field in ("content", "contents"):
        value = result.get(field)
        if isinstance(value, list):
            items += value
    messages = result.get("messages")
    if isinstance(messages, list):
        items += [m.get("content") for m in messages if isinstance(m, dict)]
    size = 0
    kinds: dict[str, None] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind is None:  # resource contents carry text or blob, no type
            kind = "blob" if "blob" in item else "text"
        kinds[str(kind)[:32]] = None
        resource = item.get("resource")
        for part in (item, resource) if isinstance(resource, dict) else (item,):
            for field in ("text", "data", "blob"):
                value = part.get(field)
                if isinstance(value, str):
                    size += len(value)
    structured = result.get("structuredContent")
    if structured is not None:
        kinds["structured"] = None
    return size, tuple(kinds), bool(result.get("isError"))
