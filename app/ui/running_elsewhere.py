"""The tray started while Switchboard already runs: take the instance lock, or decide what to do about the holder.

Another tray answers on the local socket first (app/ui/single_instance.py) and shows its panel. What
is left is a headless gateway (`switchboard start`, or started at login). The tray does not attach to
it: every view and action here (servers toggled and restarted, stderr tails, live calls, clients)
works on a Gateway in this process, and a second, remote way to feed them would be a half-working
copy of the panel. Instead it says so and offers the two things that make sense: stop that one and
run here (the user clicked the app: they want the tray), or leave it running (nothing happens).
Closing the question, or Ctrl-C/SIGTERM while it is open, leaves it running.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from app.daemon.control import main_key_for, stop_instance
from app.daemon.hosting import already_running, claim
from app.daemon.instance import InstanceLock, RuntimeInfo

log = logging.getLogger(__name__)
OBJECT_NAME = "running-elsewhere"
STOP_HERE = "Stop it and run here"
LEAVE = "Leave it running"


class RunningElsewhere(QMessageBox):
    """The question, non-modal; `answer` resolves to True for "Stop it and run here"."""

    def __init__(self, info: RuntimeInfo) -> None:
        super().__init__(QMessageBox.Icon.Information, "Switchboard is already running", question_text(info))
        self.setObjectName(OBJECT_NAME)
        self.setInformativeText(
            "This window cannot show or control a gateway that runs in another process. Stop it and run "
            "Switchboard here, with its tray and control panel? Clients connected to it are disconnected "
            "and reconnect to the gateway here."
        )
        self.stop_button = self.addButton(STOP_HERE, QMessageBox.ButtonRole.AcceptRole)
        self.leave_button = self.addButton(LEAVE, QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.leave_button)
        self.setEscapeButton(self.leave_button)
        self.answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.finished.connect(self._finished)

    def _finished(self, _result: int) -> None:
        if not self.answer.done():
            self.answer.set_result(self.clickedButton() is self.stop_button)

    def leave(self) -> None:
        """Ctrl-C or SIGTERM while asking: the same as "Leave it running"."""
        if not self.answer.done():
            self.answer.set_result(False)
        self.close()


def question_text(info: RuntimeInfo) -> str:
    since = time.strftime("%H:%M on %Y-%m-%d", time.localtime(info.started_at))
    where = f" at {info.url}" if info.url else ""
    return (
        f"Switchboard is already running in the background{where}: the headless gateway started "
        f"with `switchboard start` or at login (pid {info.pid}, since {since})."
    )


async def claim_for_tray(state_dir: Path, config: Path, *, asking: list[RunningElsewhere] | None = None) -> (
    InstanceLock | None
):
    """The instance lock for this tray, or None: this process must exit 0 (the reason is on stderr).
    Raises InstanceLockError (a sentence) when the lock's holder cannot be told.

    `asking` receives the question while it is open (so Ctrl-C can answer it, and tests can click it)."""
    claimed = await _claim(state_dir, config)
    if not isinstance(claimed, RuntimeInfo):
        return claimed
    info = claimed
    if info.mode == "tray":  # another tray that did not answer the socket (busy, or hung)
        _say(already_running(info))
        return None
    # Closing the question must not quit Qt: after "Stop it and run here" the tray has yet to start.
    QGuiApplication.setQuitOnLastWindowClosed(False)
    box = RunningElsewhere(info)
    log.info("Switchboard is already running in the background (pid %s); asking whether to stop it.", info.pid)
    if asking is not None:
        asking.append(box)
    box.open()
    try:
        stop_it = await box.answer
    finally:
        if asking is not None:
            asking.remove(box)
    if not stop_it:
        _say(already_running(info))
        return None
    stopped = await asyncio.to_thread(lambda: stop_instance(info, key=main_key_for(info)))
    log.info("%s", stopped.sentence)
    claimed = await _claim(state_dir, config)
    if isinstance(claimed, RuntimeInfo):  # something else started in the meantime
        _say(already_running(claimed))
        return None
    return claimed


async def _claim(state_dir: Path, config: Path) -> InstanceLock | RuntimeInfo:
    """claim() off the Qt loop: it may wait for a starting holder to publish its runtime file."""
    return await asyncio.to_thread(claim, state_dir, mode="tray", config=config)


def _say(text: str) -> None:
    log.info("%s", text)  # on stderr too (app/logs.py), and in the log file
