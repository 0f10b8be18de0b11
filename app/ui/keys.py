"""The API key as the panel sees it: its value, where it is stored, and rotation — all off the loop.

The tray and Settings tab depend only on `KeySource`. `default_source()` adapts the main key
that app.launch attaches to the gateway (an app.secrets KeyStore plus the live verifier).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)
Offload = Callable[..., Awaitable[Any]]  # (blocking fn, *args) -> awaitable of its result


@dataclass(frozen=True)
class KeyInfo:
    value: str
    where: str  # a sentence: "Stored in the system keyring." / "Stored in a file readable only by you: PATH."


class KeySource(Protocol):
    available: bool
    unavailable_reason: str

    async def load(self) -> KeyInfo: ...

    async def rotate(self) -> KeyInfo: ...


class NoKeys:
    """No key store in this build: the gateway does not ask clients for a key."""

    available = False
    unavailable_reason = "API keys are not set up in this build, so any program on this computer can connect."

    async def load(self) -> KeyInfo:
        raise LookupError(self.unavailable_reason)

    async def rotate(self) -> KeyInfo:
        raise LookupError(self.unavailable_reason)


class StoreKeys:
    """Adapts a key store with `load_or_create()`, `rotate()` and `location` (blocking calls, run in a thread).

    `offload` runs them: `asyncio.to_thread` by default; the desktop app passes its gateway thread's,
    so a rotation (which also updates the gateway's verifier) is scheduled by the gateway's own loop.
    """

    available = True
    unavailable_reason = ""

    def __init__(self, store: Any, offload: Offload | None = None) -> None:
        self.store = store
        self.offload: Offload = offload or asyncio.to_thread

    def _where(self) -> str:
        location = self.store.location
        where = str(location() if callable(location) else location).strip().rstrip(".")
        sentence = where[:1].upper() + where[1:] + "."
        if "file" in where and "keyring" not in where:
            sentence += " No working system keyring was found, so the key is kept in that file instead."
        return sentence

    def _load(self) -> KeyInfo:
        return KeyInfo(str(self.store.load_or_create()), self._where())

    def _rotate(self) -> KeyInfo:
        return KeyInfo(str(self.store.rotate()), self._where())

    async def load(self) -> KeyInfo:
        info: KeyInfo = await self.offload(self._load)
        return info

    async def rotate(self) -> KeyInfo:
        info: KeyInfo = await self.offload(self._rotate)
        return info


def default_source(gateway: Any, offload: Offload | None = None) -> KeySource:
    """The main key the gateway was built with (app.launch wires it, so a rotation also updates the verifier).

    A gateway built without one does not check keys, and the panel says so rather than show a key
    that would not be enforced.
    """
    store = getattr(gateway, "main_key", None)
    if store is None or not all(hasattr(store, name) for name in ("load_or_create", "rotate", "location")):
        return NoKeys()
    return StoreKeys(store, offload)
