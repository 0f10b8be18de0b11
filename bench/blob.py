"""The blob tool's text, shared by the child that makes it and the load generator that checks it."""

from __future__ import annotations

import functools

LINE = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"  # 64 characters


@functools.cache
def blob_text(kib: int) -> str:
    """Deterministic printable text of exactly `kib` KiB."""
    return LINE * (kib * 16)
