"""The children that are running: each supervisor runs in a cancel scope of its own inside the gateway's
task group, so one can be stopped, restarted or fail without touching the others."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import anyio
import anyio.abc

from app.gateway.children.supervisor import ChildSupervisor
from app.gateway.errors import GatewayError

log = logging.getLogger(__name__)


@dataclass
class _Running:
    supervisor: ChildSupervisor
    scope: anyio.CancelScope
    done: anyio.Event


class Fleet:
    def __init__(self, supervisors: dict[str, ChildSupervisor]) -> None:
        self.supervisors = supervisors  # every configured server, running or not (shared with the gateway)
        self._running: dict[str, _Running] = {}
        self.task_group: anyio.abc.TaskGroup | None = None  # set while the gateway serves

    def start(self, supervisor: ChildSupervisor) -> None:
        assert self.task_group is not None
        scope = anyio.CancelScope()
        done = anyio.Event()
        self._running[supervisor.name] = _Running(supervisor, scope, done)

        async def supervise() -> None:
            try:
                with scope:
                    await supervisor.run()
            except Exception as exc:  # a bug in one supervisor must not take down the gateway and the others
                log.exception("the supervisor of server %s stopped on an error", supervisor.name)
                supervisor.mark_failed(f"Switchboard stopped supervising it: {exc}. See the log.")
            finally:
                done.set()

        self.task_group.start_soon(supervise)

    async def stop(self, name: str) -> None:
        running = self._running.pop(name, None)
        if running is not None:
            running.scope.cancel()
            await running.done.wait()

    async def stop_all(self) -> None:
        async with anyio.create_task_group() as tg:
            for name in list(self._running):
                tg.start_soon(self.stop, name)

    async def restart(self, name: str) -> None:
        """Restart now, also out of a backoff wait."""
        supervisor = self.supervisors.get(name)
        if supervisor is None:
            raise GatewayError(f"There is no server named '{name}' in the config.")
        if supervisor.invalid is not None:
            raise GatewayError(f"Server '{name}' cannot start: {supervisor.invalid}")
        if not supervisor.enabled:
            raise GatewayError(f"Server '{name}' is disabled; enable it first.")
        await self.stop(name)
        if self.task_group is not None:
            supervisor.reset_backoff()
            self.start(supervisor)
