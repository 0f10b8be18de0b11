"""Closing a child process's asyncio transport, through anyio's private `_process._transport`.

Nothing public exposes it, and without closing it the transport stays open (and warns at garbage
collection) while a grandchild holds a pipe end. The SDK's own stdio client does the same walk.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any


def close_process_transport(process: Any) -> None:
    transport = getattr(getattr(process, "_process", None), "_transport", None)
    close = getattr(transport, "close", None)  # duck-typed: uvloop's transport is not asyncio's class
    if callable(close):
        with suppress(PermissionError):  # close() on <= 3.12 may re-kill a setuid child
            close()
