"""The API key as the panel sees it: its value, where it is stored, and rotation — all off the loop.

The tray and Settings tab depend only on `KeySource`. `default_source()` adapts `app/secrets`
when that package provides a key store; until then the panel says keys are not set up.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


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
    """Adapts a key store with `load_or_create()`, `rotate()` and `location` (blocking calls, run in a thread)."""

    available = True
    unavailable_reason = ""

    def __init__(self, store: Any) -> None:
        self.store = store

    def _where(self) -> str:
        location = self.store.location
        location = location() if callable(location) else location
        describe = getattr(location, "describe", None)
        if callable(describe):
            return str(describe())
        return str(location)

    def _load(self) -> KeyInfo:
        return KeyInfo(str(self.store.load_or_create()), self._where())

    def _rotate(self) -> KeyInfo:
        return KeyInfo(str(self.store.rotate()), self._where())

    async def load(self) -> KeyInfo:
        return await asyncio.to_thread(self._load)

    async def rotate(self) -> KeyInfo:
        return await asyncio.to_thread(self._rotate)


def default_source(gateway: Any = None) -> KeySource:
    """The key store the gateway was built with, else the default one from app.secrets, else NoKeys."""
    store = getattr(gateway, "key_store", None) or getattr(gateway, "keys", None)
    if store is None:
        try:
            secrets = importlib.import_module("app.secrets")
        except ImportError:
            return NoKeys()
        factory = getattr(secrets, "default_store", None) or getattr(secrets, "KeyStore", None)
        if factory is None:
            return NoKeys()
        try:
            store = factory()
        except Exception:
            log.exception("could not open the key store")
            return NoKeys()
    if not all(hasattr(store, name) for name in ("load_or_create", "rotate", "location")):
        return NoKeys()
    return StoreKeys(store)
