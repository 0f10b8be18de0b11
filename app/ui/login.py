"""Launch at login, as the Settings tab shows it: the state read from the OS every time, never remembered.
systemctl and the registry are slow: every read and write runs off the Qt thread."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app import paths
from app.platform.autostart import Autostart, AutostartError, AutostartState, for_this_os
from app.ui.tasks import UserError

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp


class LaunchAtLogin(QObject):
    changed = Signal()  # the state was read (or is being changed)

    def __init__(self, app: DesktopApp, autostart: Autostart | None = None) -> None:
        """`autostart`: this OS's module by default, created when first read."""
        super().__init__(app)
        self.app = app
        self._autostart = autostart
        self.state: AutostartState | None = None  # None: not read yet
        self.busy = False

    def _module(self) -> Autostart:
        if self._autostart is None:
            self._autostart = for_this_os()
        return self._autostart

    def load(self) -> asyncio.Task[Any]:
        return self.app.tasks.spawn(self._change(None), "read the launch-at-login setting")

    def set(self, on: bool) -> asyncio.Task[Any]:
        return self.app.tasks.spawn(self._change(on), "turn launch at login " + ("on" if on else "off"))

    async def _change(self, on: bool | None) -> None:
        """on None: only read. The state shown afterwards is always the one read back from the OS."""
        self.busy = True
        self.changed.emit()
        try:
            module = await asyncio.to_thread(self._module)
            if on is None:
                self.state = await asyncio.to_thread(module.status)
            elif on:
                self.state = await asyncio.to_thread(module.enable, paths.self_command())
            else:
                self.state = await asyncio.to_thread(module.disable)
        except AutostartError as exc:
            self.state = await asyncio.to_thread(self._module().status)
            raise UserError(str(exc)) from None
        finally:
            self.busy = False
            self.changed.emit()
