"""Signing in to remote servers from the desktop: the Servers tab's Sign in button and the tray's menu item
run the gateway's sign-in in the background (on its thread) and open the system browser; a server that
comes to need a sign-in raises a tray notification (once per time it starts waiting)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices

from app.gateway import SIGN_IN_TIMEOUT_S, ChildState, ChildStateChanged
from app.ui.tasks import UserError

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp

NEEDS_SIGN_IN = ChildState.NEEDS_SIGN_IN.value


def open_in_browser(url: str) -> None:
    if not QDesktopServices.openUrl(QUrl(url)):
        raise UserError(f"No browser could be opened; open this address yourself to sign in: {url}")


class SignInActions(QObject):
    needed = Signal(str, str)  # server, what it asks for (a sentence): it now waits for a sign-in
    signed_in = Signal(str)  # server
    # Emitted on the gateway's thread (its sign-in asks for the browser); delivered on Qt's.
    _open_requested = Signal(str)

    def __init__(self, app: DesktopApp, opener: Callable[[str], None] = open_in_browser) -> None:
        super().__init__(app)
        self.app = app
        self.opener = opener  # how the authorization URL is opened (tests follow it with an HTTP client)
        self.timeout = SIGN_IN_TIMEOUT_S  # how long the browser step may take
        self.in_progress: set[str] = set()
        self.opened: list[str] = []  # the authorization URLs handed to the browser, in order
        self._waiting: set[str] = set()
        self._open_requested.connect(self._open)
        app.feed.batch.connect(self._take)

    def _take(self, events: list[Any]) -> None:
        for event in events:
            if not isinstance(event, ChildStateChanged):
                continue
            if event.state == NEEDS_SIGN_IN and event.name not in self._waiting:
                self._waiting.add(event.name)
                self.needed.emit(event.name, event.error or f"{event.name} asks you to sign in.")
            elif event.state != NEEDS_SIGN_IN and event.state != ChildState.STARTING.value:
                self._waiting.discard(event.name)

    def sign_in(self, name: str) -> asyncio.Task[Any]:
        return self.app.tasks.spawn(self._sign_in(name), f"sign in to {name}")

    async def _sign_in(self, name: str) -> None:
        if self.app.snapshot.state != "running":
            raise UserError(f"Start the gateway first to sign in to '{name}'.")
        if name in self.in_progress:
            raise UserError(f"The sign-in to '{name}' is waiting for your browser; finish it there.")
        self.in_progress.add(name)
        self.app.status_changed.emit()
        try:
            self.app.report("info", f"Signing in to '{name}': finish in the browser window that opens.")
            signed = await self.app.host.call(self.app.gateway.sign_in, name, self._open_requested.emit, self.timeout)
        finally:
            self.in_progress.discard(name)
            self.app.status_changed.emit()
        self.app.report("done", signed.sentence())
        self.signed_in.emit(name)

    def _open(self, url: str) -> None:
        self.opened.append(url)
        try:
            self.opener(url)
        except UserError as exc:
            self.app.report("warning", str(exc))
