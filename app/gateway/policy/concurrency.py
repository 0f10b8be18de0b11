"""How many calls run at once: per server (and per glob of its tools) at most N in flight, the rest waiting
in a bounded queue, first come first served; a call past the queue fails at once with "busy", never a hang.

A waiter that is cancelled (its client went away, the gateway stops) leaves the queue; a slot freed by a
finished call passes straight to the next waiter, so nobody jumps the queue.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import anyio

from app.gateway.policy.refused import Refused
from app.gateway.policy.rules import Slot

SERVER_BUSY = -32030  # JSON-RPC's implementation-defined server error range, as for RATE_LIMITED


class Busy(Refused):
    def __init__(self, slot: Slot, in_flight: int, waiting: int) -> None:
        super().__init__(
            SERVER_BUSY,
            f"The {slot.label} is busy: {in_flight} calls in flight (max_concurrency {slot.limit}) and "
            f"{waiting} waiting (queue_size {slot.queue}), so this call was refused; try again shortly",
            {"limit": slot.label, "max_concurrency": slot.limit, "queue_size": slot.queue},
        )


class Gate:
    def __init__(self, slot: Slot) -> None:
        self.slot = slot
        self.in_flight = 0
        self._waiters: deque[anyio.Event] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def resize(self, slot: Slot) -> None:
        """Take a hot-reloaded limit: a larger one lets waiters in now."""
        self.slot = slot
        while self._waiters and self.in_flight < slot.limit:
            self.in_flight += 1
            self._waiters.popleft().set()

    async def acquire(self) -> None:
        if self.in_flight < self.slot.limit and not self._waiters:
            self.in_flight += 1
            return
        if len(self._waiters) >= self.slot.queue:
            raise Busy(self.slot, self.in_flight, len(self._waiters))
        granted = anyio.Event()
        self._waiters.append(granted)
        try:
            await granted.wait()
        except BaseException:
            if granted.is_set():  # the slot was handed over as we were cancelled: pass it on
                self.release()
            else:
                self._waiters.remove(granted)
            raise

    def release(self) -> None:
        if self._waiters and self.in_flight <= self.slot.limit:
            self._waiters.popleft().set()  # the slot passes on: in_flight stays
        else:
            self.in_flight = max(0, self.in_flight - 1)


class Gates:
    def __init__(self) -> None:
        self.gates: dict[tuple[str, str], Gate] = {}

    def gate(self, slot: Slot) -> Gate:
        gate = self.gates.get(slot.key)
        if gate is None:
            gate = self.gates[slot.key] = Gate(slot)
        elif gate.slot != slot:
            gate.resize(slot)
        return gate

    async def enter(self, slots: Iterable[Slot]) -> list[Gate]:
        """Pass every gate of `slots` in order (a glob's own first, then the server's); give them to `leave`."""
        passed: list[Gate] = []
        try:
            for slot in slots:
                gate = self.gate(slot)
                await gate.acquire()
                passed.append(gate)
        except BaseException:
            self.leave(passed)
            raise
        return passed

    @staticmethod
    def leave(passed: list[Gate]) -> None:
        for gate in reversed(passed):
            gate.release()

    def load(self, server: str) -> tuple[int, int]:
        """(in flight, waiting) at the server's own gate."""
        gate = self.gates.get((server, ""))
        return (gate.in_flight, gate.waiting) if gate is not None else (0, 0)
