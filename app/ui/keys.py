"""The API key as the panel sees it: its value, where it is stored, and rotation — all off both loops.

The tray and Settings tab depend only on `KeySource`; `MainKeySource` adapts the composition root's
main key (its store plus the live verifier, so a rotation applies at once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.secrets import KeyLocation

Offload = Callable[..., Awaitable[Any]]  # (blocking fn, *args) -> awaitable of its result


@dataclass(frozen=True)
class KeyInfo:
    value: str
    location: KeyLocation

    @property
    def where(self) -> str:
        """A sentence for the Settings tab."""
        if self.location.in_keyring:
            return "Stored in the system keyring."
        return (
            f"Stored in a file readable only by you: {self.location.path}. "
            "No working system keyring was found, so the key is kept in that file instead."
        )


class KeySource(Protocol):
    async def load(self) -> KeyInfo: ...

    async def rotate(self) -> KeyInfo: ...


class MainKeySource:
    """Adapts `app.launch.MainKey` (blocking calls), run by `offload`: asyncio.to_thread by default."""

    def __init__(self, main_key: Any, offload: Offload | None = None) -> None:
        self.main_key = main_key
        self.offload: Offload = offload or asyncio.to_thread

    def _load(self) -> KeyInfo:
        return KeyInfo(self.main_key.value(), self.main_key.location())

    def _rotate(self) -> KeyInfo:
        key = self.main_key.rotate()
        return KeyInfo(key, self.main_key.location())

    async def load(self) -> KeyInfo:
        info: KeyInfo = await self.offload(self._load)
        return info

    async def rotate(self) -> KeyInfo:
        info: KeyInfo = await self.offload(self._rotate)
        return info
