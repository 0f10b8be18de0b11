"""The fast lane on legacy SSE: a plain call POSTed to /messages/ is answered 202 at once, as the SDK answers
it, run without the SDK's server session, and its answer written to the session's event stream.

The SDK's SSE transport keeps its streams to itself; what a session's messages go through is the write
stream it hands the server, so that is kept here, under the session id the SDK announces to the client in
the stream's first event (`endpoint`). A POST is for the lane when the session is known, its client is
registered (its first request went the SDK's way) and the request needs nothing else (fast_calls.eligible).
Messages to the client (log lines, the child's requests, the answer) go out on that write stream as the
SDK's own do, through the SDK's SSE writer, serialized once with orjson.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson
from anyio.abc import TaskGroup
from mcp.shared.message import SessionMessage
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from app.gateway.http.body import PARSED_BODY
from app.gateway.http.fast_calls import FastCalls, Lane

_ENDPOINT_EVENT = re.compile(rb"event: endpoint\r?\ndata: ([^\r\n]*)")


class RawMessage(dict[str, Any]):
    """A JSON-RPC message the SDK's SSE writer serializes as it does its own (`model_dump_json`), by orjson."""

    def model_dump_json(self, **_: Any) -> str:
        return orjson.dumps(self).decode()

    def __repr__(self) -> str:
        # The SDK's SSE writer formats every message into a debug f-string, logged or not: a large result
        # would be copied into its repr for nothing.
        return f"RawMessage(id={self.get('id')!r}, method={self.get('method')!r})"


@dataclass
class SseSession:
    write: Any  # the session's write stream (SessionMessage), as the SDK's server writes to it; None until given
    tasks: TaskGroup  # the session's lane calls run here, and end with it
    lane: Lane = field(default_factory=Lane)


class SseOut:
    """A lane call's messages on its session's event stream."""

    answers_cancelled = False  # a cancelled request gets no answer at all here (the SDK's dispatcher is silent)

    def __init__(self, session: SseSession) -> None:
        self._session = session

    async def event(self, message: dict[str, Any]) -> None:
        await self._session.write.send(SessionMessage(RawMessage(message)))  # type: ignore[arg-type]

    async def finish(self, message: dict[str, Any]) -> None:
        await self.event(message)


class SseLane:
    """The SSE sessions of one endpoint, by the id the SDK gave each, and the lane's answers to their POSTs."""

    def __init__(self, fast: FastCalls) -> None:
        self.fast = fast
        self.sessions: dict[str, SseSession] = {}

    def spotting(self, send: Send, found: Callable[[str], None]) -> Callable[[Message], Awaitable[None]]:
        """`send`, noting the session id in the stream's `endpoint` event on its way to the client."""
        spotted = False

        async def sending(message: Message) -> None:
            nonlocal spotted
            if not spotted and message["type"] == "http.response.body":
                match = _ENDPOINT_EVENT.search(message.get("body", b""))
                if match is not None:
                    spotted = True
                    query = match.group(1).decode("latin-1").partition("?")[2]
                    session_id = parse_qs(query).get("session_id", [""])[0]
                    if session_id:
                        found(session_id)
            await send(message)

        return sending

    async def answered(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """The POST answered on the lane; False leaves it to the SDK's handler."""
        message = scope.get(PARSED_BODY)
        if not isinstance(message, dict) or not self.fast.on:
            return False
        session_id = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("session_id", [""])[0]
        session = self.sessions.get(session_id)
        if session is None or session.write is None:
            return False
        if FastCalls.picked_off(message, session.lane):
            await Response("Accepted", status_code=202)(scope, receive, send)
            return True
        connection = self.fast.connection_of(f"sse:{session_id}")
        if connection is None or not self.fast.accepts(message, connection.protocol_version):
            return False
        in_flight: set[str] = connection.state.setdefault("switchboard.in_flight", set())
        if str(message["id"]) in in_flight:
            return False  # the SDK's path refuses a duplicate id (routing/handlers.note_client)
        in_flight.add(str(message["id"]))  # now, not when the call's task starts: a duplicate may come first
        request = Request(scope, receive)
        await Response("Accepted", status_code=202)(scope, receive, send)
        session.tasks.start_soon(self.fast.answer, connection, message, request, SseOut(session), session.lane)
        return True
