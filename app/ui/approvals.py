"""Approvals and call policies as the desktop offers them: answering a waiting call (panel, tray), the
per-tool policy editor of the Servers tab, and the defaults in Settings. Every change runs on the gateway's
thread (the config file is written through its store); a new approval raises a tray notification."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.gateway import ApprovalRequested, PendingApproval, UnknownApproval
from app.ui.tasks import UserError

if TYPE_CHECKING:
    from app.ui.desktop import DesktopApp

ANSWERS = {"approve": "approve", "deny": "deny", "always": "always allow"}


class ApprovalActions(QObject):
    requested = Signal(object)  # a PendingApproval: a call now waits for someone to answer it
    answered = Signal(str, str)  # approval id, answer

    def __init__(self, app: DesktopApp) -> None:
        super().__init__(app)
        self.app = app
        app.feed.batch.connect(self._take)

    @property
    def pending(self) -> tuple[PendingApproval, ...]:
        return self.app.snapshot.approvals

    def _take(self, events: list[Any]) -> None:
        for event in events:
            if isinstance(event, ApprovalRequested):
                self.requested.emit(event.approval)

    def answer(self, approval_id: str, answer: str) -> asyncio.Task[Any]:
        """"approve", "deny" or "always" (approve, and allow this tool for this client from now on)."""
        return self.app.tasks.spawn(self._answer(approval_id, answer), f"{ANSWERS.get(answer, answer)} a call")

    async def _answer(self, approval_id: str, answer: str) -> None:
        try:
            approval = await self.app.host.call(self.app.gateway.policy.answer, approval_id, answer)
        except UnknownApproval:
            raise UserError("That call no longer waits: it was answered, timed out or withdrawn.") from None
        self.answered.emit(approval_id, answer)
        what = {"approve": "Approved", "deny": "Denied", "always": "Approved, and allowed from now on:"}[answer]
        self.app.report("info", f"{what} {approval.tool} for {approval.client_name or 'its client'}.")

    def set_tool_policy(self, server: str, tool: str, policy: str | None) -> asyncio.Task[Any]:
        """None: remove the tool's own policy, so the server's or the default one applies again."""
        return self.app.tasks.spawn(self._set_tool_policy(server, tool, policy), f"change the policy of {tool}")

    async def _set_tool_policy(self, server: str, tool: str, policy: str | None) -> None:
        await self._write(self.app.gateway.policy.set_tool_policy, server, tool, policy)
        said = f"now {policy}" if policy else "back to the default"
        self.app.report("info", f"The policy of {tool} on {server} is {said}.")

    def set_defaults(self, **settings: Any) -> asyncio.Task[Any]:
        return self.app.tasks.spawn(self._set_defaults(settings), "save the call settings")

    async def _set_defaults(self, settings: dict[str, Any]) -> None:
        await self._write(lambda: self.app.gateway.policy.set_defaults(**settings))
        self.app.report("info", "Saved the call settings; they apply from the next call on.")

    async def _write(self, fn: Any, *args: Any) -> None:
        """On the gateway's thread: it writes the file through the store (a bad result is refused, unwritten)."""
        try:
            await self.app.host.call(fn, *args)
        finally:
            self.app.status_changed.emit()
