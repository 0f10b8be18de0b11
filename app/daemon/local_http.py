"""Small HTTP requests to the gateway on this machine (/health, the admin route), from the CLI.

urllib, not an async client: these are one-shot calls from a short-lived command. Proxies from the
environment are ignored on purpose: a request to 127.0.0.1 sent to a corporate proxy never arrives.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


class NoAnswer(Exception):
    """Nothing answered (refused, timed out, not HTTP); `str()` says which."""


def call(method: str, url: str, *, key: str | None = None, timeout: float = 5.0) -> Answer:
    """Any HTTP status is an Answer (a 503 while servers start still means the gateway answers)."""
    headers = {"Accept": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    data = b"" if method == "POST" else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Answer(response.status, _json(response.read()))
    except urllib.error.HTTPError as exc:
        with exc:
            return Answer(exc.code, _json(exc.read()))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
        raise NoAnswer(text or type(exc).__name__) from None


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
