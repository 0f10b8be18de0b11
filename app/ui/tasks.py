"""Running coroutines from Qt slots: slots never await or block; errors come back as sentences."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from app.config import ConfigError
from app.gateway import GatewayError

log = logging.getLogger(__name__)


class TaskRunner:
    """Keeps a reference to every task it starts (asyncio holds only weak ones) and reports failures."""

    def __init__(self, report: Callable[[str], None], log_path: Callable[[], str]) -> None:
        self._report = report
        self._log_path = log_path
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, what))
        return task

    def _done(self, task: asyncio.Task[Any], what: str) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        if isinstance(exc, (GatewayError, ConfigError, UserError)):
            self._report(str(exc))
        else:
            log.error("%s failed", what, exc_info=exc)
            self._report(f"Could not {what}: {exc}. Details are in the log: {self._log_path()}")

    async def drain(self, timeout: float = 5.0) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    @property
    def pending(self) -> int:
        return len(self._tasks)


class UserError(Exception):
    """A problem raised by the UI itself; `str()` is the sentence to show."""
