"""Calls waiting for someone to approve them: the panel, the tray, or `switchboard approve ID` answers.

A call whose policy is `ask` waits here (its client's request stays open) until it is approved, denied,
or `gateway.approval_timeout_s` passes; each answer applies to that one call. A waiting call whose client
goes away (its request cancelled) is withdrawn. Every request and every outcome is an event on the bus,
so the panel and the tray show them and the history records who decided.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

from app.gateway.events import ApprovalRequested, ApprovalSettled, EventBus

Answer = Literal["approve", "deny"]
KEEPALIVE_S = 10.0  # a progress notification this often while waiting, for clients that asked for progress
GONE_POLL_S = 0.25  # how often a waiting call checks that its client is still connected


@dataclass(frozen=True, slots=True)
class PendingApproval:
    """A waiting call as people see it: the arguments are already shortened and masked."""

    id: str
    call_id: int
    client_name: str
    key_name: str
    server: str
    tool: str  # the published name
    original: str  # the server's own name for it
    arguments: Any
    asked_at: float  # wall clock
    timeout_s: float
    reason: str  # why it asks (which setting)

    def as_dict(self) -> dict[str, Any]:
        waited = max(0.0, time.time() - self.asked_at)
        return {
            "id": self.id, "call_id": str(self.call_id), "client": self.client_name, "key": self.key_name,
            "server": self.server, "tool": self.tool, "original": self.original, "arguments": self.arguments,
            "asked_at": self.asked_at, "waited_s": round(waited, 1), "timeout_s": self.timeout_s, "reason": self.reason,
        }  # fmt: skip


@dataclass(slots=True)
class _Waiting:
    approval: PendingApproval
    answered: anyio.Event = field(default_factory=anyio.Event)
    answer: Answer | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    approved: bool
    decided_by: Literal["user", "timeout"] | None  # None: withdrawn (its client went away)


class UnknownApproval(LookupError):
    """No call waits under that id (answered already, timed out, withdrawn, or never there)."""


class Approvals:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self._waiting: dict[str, _Waiting] = {}

    def pending(self) -> list[PendingApproval]:
        """The calls waiting now, oldest first."""
        return [w.approval for w in self._waiting.values()]

    def get(self, approval_id: str) -> PendingApproval:
        waiting = self._waiting.get(approval_id)
        if waiting is None:
            raise UnknownApproval(approval_id)
        return waiting.approval

    async def wait(
        self,
        make: Callable[[str], PendingApproval],
        *,
        keepalive: Callable[[PendingApproval], Awaitable[None]] | None = None,
        gone: Callable[[], Awaitable[bool]] | None = None,
    ) -> Outcome:
        """Wait for an answer to the approval `make(id)` describes, at most its `timeout_s`. It is withdrawn
        when the request is cancelled or `gone()` says the client's connection closed."""
        approval = make(self._new_id())
        waiting = _Waiting(approval)
        self._waiting[approval.id] = waiting
        self.bus.publish(ApprovalRequested(approval))
        outcome: Outcome | None = None
        try:
            with anyio.move_on_after(approval.timeout_s):
                async with anyio.create_task_group() as tg:
                    if keepalive is not None:
                        tg.start_soon(_keep_alive, keepalive, approval)
                    if gone is not None:
                        tg.start_soon(_watch, gone, waiting)
                    await waiting.answered.wait()
                    tg.cancel_scope.cancel()
            if waiting.answered.is_set() and waiting.answer is None:
                return Outcome(False, None)
            if waiting.answer is None:
                outcome = Outcome(False, "timeout")
            else:
                outcome = Outcome(waiting.answer == "approve", "user")
            return outcome
        finally:
            self._waiting.pop(approval.id, None)
            if outcome is None:
                result = "withdrawn"
            elif outcome.decided_by == "timeout":
                result = "timed out"
            else:
                result = "approved" if outcome.approved else "denied"
            self.bus.publish(ApprovalSettled(approval.id, result, None if outcome is None else outcome.decided_by))

    def answer(self, approval_id: str, answer: Answer) -> PendingApproval:
        """Approve or deny one waiting call. Raises UnknownApproval when no call waits under that id."""
        waiting = self._waiting.get(approval_id)
        if waiting is None or waiting.answered.is_set():
            raise UnknownApproval(approval_id)
        waiting.answer = answer
        waiting.answered.set()
        return waiting.approval

    def _new_id(self) -> str:
        while True:  # short enough to type after `switchboard approve`
            candidate = secrets.token_hex(3)
            if candidate not in self._waiting:
                return candidate


async def _watch(gone: Callable[[], Awaitable[bool]], waiting: _Waiting) -> None:
    """The client's connection closed: nobody can receive the answer, so the call is withdrawn."""
    while not await gone():
        await anyio.sleep(GONE_POLL_S)
    waiting.answered.set()


async def _keep_alive(keepalive: Callable[[PendingApproval], Awaitable[None]], approval: PendingApproval) -> None:
    while True:
        try:
            await keepalive(approval)
        except Exception:  # the client may be gone; its cancellation ends the wait
            return
        await anyio.sleep(KEEPALIVE_S)
