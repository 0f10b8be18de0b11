"""Keeping API keys out of logs: a filter on every handler that redacts `?api_key=`, `Bearer ...`,
`X-API-Key: ...` and anything shaped like a key, whichever library writes the line."""

from __future__ import annotations

import logging
import re

_SECRETS = re.compile(
    r"(?P<lead>(?:\b|_)api_key(?:=|%3D|['\"]?\s*:\s*['\"]?)|\bbearer\s+|\bx-api-key['\"]?\s*[:=,]\s*(?:b?['\"])?)"
    r"(?P<key>[^\s&\"',;)#]+)",
    re.IGNORECASE,
)


# Our keys are secrets.token_urlsafe(32), 43 URL-safe characters: redacted by shape wherever they appear,
# whatever parameter they came in (a key pasted as `?session_id=` was logged verbatim by the SDK).
_KEY_SHAPE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{40,}")


def redact(text: str) -> str:
    """`text` with any API key in it (`api_key=...`, `Bearer ...`, `X-API-Key: ...`, or anything shaped like
    one of our keys) replaced by `[redacted]`."""
    text = _SECRETS.sub(lambda m: m["lead"] + "[redacted]", text)
    return _KEY_SHAPE.sub("[redacted]", text) if len(text) >= 40 else text


class RedactKeyFilter(logging.Filter):
    """Redacts API keys from a record's message, its arguments and its traceback text.

    Arguments are redacted one by one (not merged into the message): uvicorn's access formatter
    unpacks them. Install it on handlers to cover every logger, or on a logger for its own records.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def _redact_arg(value: object) -> object:
    if isinstance(value, int | float) or value is None:
        return value  # numbers keep their %d
    try:  # a URL object prints its query string; bytes may hold a header
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    except Exception:
        return value
    clean = redact(text)
    return value if clean == text else clean


def install_redaction(*targets: logging.Logger | logging.Handler) -> RedactKeyFilter:
    """Add one `RedactKeyFilter` to each target; with none, to the root logger's handlers and uvicorn's loggers."""
    chosen = targets or (
        *logging.getLogger().handlers,
        logging.getLogger("uvicorn.access"),
        logging.getLogger("uvicorn.error"),
    )
    redactor = RedactKeyFilter()
    for target in chosen:
        target.addFilter(redactor)
    return redactor
