"""The relay's fast lane to a stdio child: a request written straight to its stdin, its answer picked off
its stdout by id, with no SDK client session in between.

The SDK's client path builds a typed request, serializes it, hops through a writer task, and on the way
back parses the answer into a typed message and hops through the dispatcher's task before the result is
a dict again. A relayed call needs none of that: the gateway sends the client's params on and hands the
child's result back as it is. Ids are the gateway's own strings (`sb-N`), so they never meet the SDK's
integer ids on the same stdin; everything that is not an answer to one of them (the child's own requests,
notifications, answers to the SDK's requests) goes on to the SDK session as before.

Used for handshake-era stdio children and calls that want no progress; everything else takes the SDK's
path. A call that times out or is cancelled sends the child `notifications/cancelled`; when the
connection ends, every call waiting here is answered with the reason at once.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import orjson
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import CONNECTION_CLOSED, REQUEST_TIMEOUT
from opentelemetry.propagate import inject

PREFIX = "sb-"
Send = Callable[[bytes], Awaitable[None]]


class _Waiter:
    __slots__ = ("answer", "done")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.answer: dict[str, Any] | None = None


class FastLane:
    def __init__(self) -> None:
        self._send: Send | None = None
        self._waiting: dict[str, _Waiter] = {}
        self._ids = itertools.count(1)
        self._ended: str | None = None
        self.sent = 0  # requests that took this lane

    # --- the transport's side ---------------------------------------------------------------------
    def attach(self, send: Send) -> None:
        """The connection is up: `send(line)` writes one line to the child's stdin (the SDK's writer too)."""
        self._send, self._ended = send, None

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def take(self, line: bytes) -> tuple[bool, bool]:
        """On the reader's task, for each line while calls wait here: (it answered one of them, bytes that
        are not UTF-8 had to be replaced to read it)."""
        replaced = False
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            try:
                line.decode("utf-8")
                return False, False  # not JSON at all: the reader's own parse says so
            except UnicodeDecodeError:
                replaced = True
                try:
                    message = orjson.loads(line.decode("utf-8", errors="replace"))
                except orjson.JSONDecodeError:
                    return False, True
        if not isinstance(message, dict):
            return False, replaced
        request_id = message.get("id")
        waiter = self._waiting.pop(request_id, None) if isinstance(request_id, str) else None
        if waiter is None:
            return False, replaced
        waiter.answer = message
        waiter.done.set()
        return True, replaced

    def end(self, reason: str) -> None:
        """The connection ended: whatever still waits gets its answer now."""
        self._send, self._ended = None, reason
        waiting, self._waiting = self._waiting, {}
        for waiter in waiting.values():
            waiter.done.set()

    # --- the relay's side -------------------------------------------------------------------------
    @property
    def open(self) -> bool:
        return self._send is not None

    async def request(self, method: str, params: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        """The child's raw result. MCPError: its error, REQUEST_TIMEOUT, or CONNECTION_CLOSED."""
        send = self._send
        if send is None:
            raise MCPError(CONNECTION_CLOSED, self._ended or "Connection closed")
        request_id = f"{PREFIX}{next(self._ids)}"
        meta = dict(params.get("_meta") or {})
        inject(meta)  # the current trace context (the gateway's span, when tracing is on), as the SDK stamps it
        if meta:
            params = {**params, "_meta": meta}
        waiter = _Waiter()
        self._waiting[request_id] = waiter
        line = orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}) + b"\n"
        answered = False
        self.sent += 1
        try:
            await send(line)
            with anyio.move_on_after(timeout if timeout is not None else float("inf")):
                await waiter.done.wait()
                answered = True
        finally:
            if not answered:  # timed out, or the caller went away: the child may stop working on it
                self._waiting.pop(request_id, None)
                await self._cancel(request_id)
        message = waiter.answer
        if message is None:
            if self._ended is not None:
                raise MCPError(CONNECTION_CLOSED, self._ended)
            raise MCPError(REQUEST_TIMEOUT, f"Request {method!r} timed out")
        error = message.get("error")
        if isinstance(error, dict):
            raise MCPError(int(error.get("code", -32603)), str(error.get("message", "")), error.get("data"))
        result = message.get("result")
        return result if isinstance(result, dict) else {}

    async def _cancel(self, request_id: str) -> None:
        send = self._send
        if send is None:
            return
        note = {"jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": request_id, "reason": "the gateway's caller stopped waiting"}}
        with anyio.CancelScope(shield=True), anyio.move_on_after(2), contextlib.suppress(MCPError):
            await send(orjson.dumps(note) + b"\n")  # the child may be gone already: nothing to stop then
