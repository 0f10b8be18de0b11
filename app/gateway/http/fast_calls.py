"""The server half of the fast lane: a handshake-era `tools/call`, `resources/read` or `prompts/get` POST
answered in the HTTP request's own task, without the SDK's server session in between.

On the SDK's path a call crosses four tasks and three memory streams (the transport's writer, the
dispatcher's read loop, a task per request, the transport's message router) and is validated by pydantic
on the way in and serialized by it on the way out: about half the gateway's CPU per call. Here the POST's
body is parsed once with orjson, the same Router handler runs with a request context of its own, the
result goes through the same per-version sieve the SDK applies (`serialize_server_result`: the bytes a
client gets are the same on both paths), and the answer is written as one JSON body.

Only calls that need nothing else take it: an initialized session the gateway already knows, a
well-formed request with no progress token. Everything else (initialize, progress, malformed input, a
session's first request, the 2026-07-28 era, legacy SSE) stays on the SDK's path. What a call may still
need on the way is built here too: a log line or a request from the child (sampling, elicitation, roots)
turns the answer into an SSE stream, as the SDK's deferred path does; the client's answers to those
requests, and `notifications/cancelled` for a call in flight here, are picked off the session's POSTs.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
import mcp_types as types
import orjson
from anyio.streams.memory import MemoryObjectSendStream
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http import REQUEST_CANCELLED
from mcp.shared.exceptions import MCPError
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data
from mcp_types import methods
from mcp_types.jsonrpc import INTERNAL_ERROR
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import Send

from app.gateway.routing.clients import ConnectedClients
from app.gateway.routing.handlers import Router

log = logging.getLogger(__name__)

ASK_PREFIX = "sb-ask-"
SSE_HEAD = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache, no-transform"),
            (b"connection", b"keep-alive"), (b"x-accel-buffering", b"no")]  # fmt: skip
Handler = Callable[[Any, Any], Awaitable[Any]]
_ask_ids = itertools.count(1)


def params_of(method: str, params: dict[str, Any]) -> Any:
    """The handler's typed params, built without validation from what `eligible` has checked."""
    if method == "tools/call":
        return types.CallToolRequestParams.model_construct(name=params["name"], arguments=params.get("arguments"))
    if method == "prompts/get":
        return types.GetPromptRequestParams.model_construct(name=params["name"], arguments=params.get("arguments"))
    return types.ReadResourceRequestParams.model_construct(uri=params["uri"])


def request_context(session: Any, version: str, message: dict[str, Any], request: Request) -> Any:
    """The handlers' request context for a lane call: the SDK's dataclass, with the lane's session."""
    return ServerRequestContext(
        session=session,
        lifespan_context=None,
        protocol_version=version,
        method=message["method"],
        params=message["params"],
        request_id=message["id"],
        request=request,
    )


def eligible(message: Any) -> bool:
    """A request this lane answers exactly as the SDK would; anything odd is left to the SDK's checks."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return False
    request_id, method, params = message.get("id"), message.get("method"), message.get("params")
    if isinstance(request_id, bool) or not isinstance(request_id, str | int) or not isinstance(params, dict):
        return False
    meta = params.get("_meta")
    if meta is not None and (not isinstance(meta, dict) or "progressToken" in meta):
        return False
    if method == "resources/read":
        return isinstance(params.get("uri"), str)
    if method not in ("tools/call", "prompts/get") or not isinstance(params.get("name"), str):
        return False
    arguments = params.get("arguments")
    if arguments is None:
        return "arguments" not in params
    if not isinstance(arguments, dict):
        return False
    return method == "tools/call" or all(isinstance(v, str) for v in arguments.values())


class Lane:
    """What one session has on the fast lane: its requests to the client that wait for an answer (by id),
    and its calls in flight (by the SDK's id key, for cancellation and duplicate ids)."""

    def __init__(self) -> None:
        self.asks: dict[str, MemoryObjectSendStream[Any]] = {}
        self.calls: dict[str, anyio.CancelScope] = {}


class Out(Protocol):
    """Where a lane call's messages go: its notifications and requests first, then its answer."""

    answers_cancelled: bool  # a cancelled call still ends with an error (handshake-era Streamable HTTP)

    async def event(self, message: dict[str, Any]) -> None: ...

    async def finish(self, message: dict[str, Any]) -> None: ...


class Answer:
    """One POST's answer: a JSON body, unless a message must go out before the result; then an SSE stream."""

    answers_cancelled = True  # the handshake era ends a cancelled request's stream with an error, as the SDK does

    def __init__(self, send: Send, session_id: str) -> None:
        self._send = send
        self._session = (b"mcp-session-id", session_id.encode())
        self._lock = anyio.Lock()
        self.streaming = False
        self.closed = False

    async def event(self, message: dict[str, Any]) -> None:
        async with self._lock:
            if self.closed:
                raise anyio.ClosedResourceError
            if not self.streaming:
                self.streaming = True
                await self._send({"type": "http.response.start", "status": 200, "headers": [*SSE_HEAD, self._session]})
            frame = b"event: message\r\ndata: " + orjson.dumps(message) + b"\r\n\r\n"
            await self._send({"type": "http.response.body", "body": frame, "more_body": True})

    async def finish(self, message: dict[str, Any]) -> None:
        if self.streaming:
            await self.event(message)
            async with self._lock:
                self.closed = True
                await self._send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        async with self._lock:
            self.closed = True
            body = orjson.dumps(message)
            head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    self._session]  # fmt: skip
            await self._send({"type": "http.response.start", "status": 200, "headers": head})
            await self._send({"type": "http.response.body", "body": body})


class FastSession:
    """What the Router and the client relay use of a request's session (`ServerSession`'s names), for a call
    answered here: its connection, and a back-channel that rides this request's answer."""

    def __init__(self, connection: Any, answer: Out, asks: dict[str, MemoryObjectSendStream[Any]]) -> None:
        self._connection = connection
        self._answer = answer
        self._asks = asks

    async def send_log_message(self, level: str, data: Any, logger: str | None = None, **_: Any) -> None:
        params: dict[str, Any] = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        await self._answer.event({"jsonrpc": "2.0", "method": "notifications/message", "params": params})

    async def send_request(self, request: Any, result_type: Any, **_: Any) -> Any:
        """Ask the client (sampling, elicitation, roots) on this call's stream; its answer is POSTed back."""
        data = request.model_dump(by_alias=True, mode="json", exclude_none=True)
        ask_id = f"{ASK_PREFIX}{next(_ask_ids)}"
        sender, receiver = anyio.create_memory_object_stream[Any](1)
        self._asks[ask_id] = sender
        try:
            message = {"jsonrpc": "2.0", "id": ask_id, "method": data["method"]}
            if data.get("params") is not None:
                message["params"] = data["params"]
            await self._answer.event(message)
            with receiver:
                reply = await receiver.receive()
        finally:
            self._asks.pop(ask_id, None)
        error = reply.get("error")
        if isinstance(error, dict):
            raise MCPError(int(error.get("code", INTERNAL_ERROR)), str(error.get("message", "")), error.get("data"))
        return result_type.model_validate(reply.get("result") or {}, by_name=False)

    async def report_progress(self, *_: Any) -> None:
        """Calls that carry a progress token never take this lane."""


class FastCalls:
    """The lane of one endpoint: its Router's handlers, and what is in flight on each of its sessions."""

    def __init__(self, router: Router, connected: ConnectedClients) -> None:
        self.router = router
        self.connected = connected
        self._handlers: dict[str, Handler] = {
            "tools/call": router.call_tool,
            "prompts/get": router.get_prompt,
            "resources/read": router.read_resource,
        }
        self.on = True  # off: every call takes the SDK's path (the parity tests, bench.patched)
        self.answered = 0  # calls this lane answered (tests check that it was taken)

    @staticmethod
    def accepts(message: Any, version: str) -> bool:
        """A handshake-era request this lane answers as the SDK would: well formed, valid for its method."""
        if version in MODERN_PROTOCOL_VERSIONS or not eligible(message):
            return False
        try:
            methods.validate_client_request(message["method"], version, message["params"])
        except (KeyError, ValidationError):
            return False  # the SDK's path answers it with its own error
        return True

    def connection_of(self, session_id: str | None) -> Any:
        """The session's connection, once the gateway has registered its client (its first request after
        initialize); until then every request takes the SDK's path."""
        info = self.connected.by_session.get(session_id) if session_id and self.on else None
        if info is None or info.endpoint != self.router.endpoint or info.connection is None:
            return None
        return info.connection

    @staticmethod
    def picked_off(message: dict[str, Any], lane: Lane) -> bool:
        """A message for the lane itself, now handled: the client's answer to one of its requests, or the
        cancellation of one of its calls. False: the SDK's session takes it."""
        if "method" not in message:
            waiter = lane.asks.get(message["id"]) if isinstance(message.get("id"), str) else None
            if waiter is None:
                return False
            with contextlib.suppress(anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
                waiter.send_nowait(message)
            return True
        if message.get("method") != "notifications/cancelled":
            return False
        params = message.get("params")
        target = params.get("requestId") if isinstance(params, dict) else None
        call = lane.calls.get(str(target)) if target is not None else None
        if call is None:
            return False
        call.cancel()
        return True

    async def answer(self, connection: Any, message: dict[str, Any], request: Request, answer: Out, lane: Lane) -> None:
        """Run one eligible request and write its answer on `answer`."""
        method, params, request_id = message["method"], message["params"], message["id"]
        asks, calls = lane.asks, lane.calls
        ctx = request_context(FastSession(connection, answer, asks), connection.protocol_version, message, request)
        key = str(request_id)
        in_flight: set[str] = connection.state.setdefault("switchboard.in_flight", set())
        in_flight.add(key)
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        with anyio.CancelScope() as scope:
            calls[key] = scope
            try:
                result = await self._handlers[method](ctx, params_of(method, params))
                reply["result"] = methods.serialize_server_result(method, ctx.protocol_version, result)
            except MCPError as exc:
                reply["error"] = exc.error.model_dump(by_alias=True, mode="json", exclude_none=True)
            except ValidationError:  # the child's result is not valid for this version: as the SDK says it
                log.error("the result of %s is not valid for protocol %s", method, ctx.protocol_version)
                reply["error"] = {"code": INTERNAL_ERROR, "message": "Handler returned an invalid result"}
            except Exception as exc:
                error = handler_exception_to_error_data(exc)
                if error is None:
                    log.exception("handler for %r raised", method)
                    error = types.ErrorData(code=0, message=str(exc))  # what the SDK's dispatcher answers
                reply["error"] = error.model_dump(by_alias=True, mode="json", exclude_none=True)
            finally:
                calls.pop(key, None)
                in_flight.discard(key)
        if scope.cancelled_caught:  # the client cancelled it
            if not answer.answers_cancelled:
                return
            reply.pop("result", None)
            reply["error"] = {"code": REQUEST_CANCELLED, "message": "Request cancelled"}
        self.connected.seen(ctx, self.router.endpoint)
        self.answered += 1
        with contextlib.suppress(anyio.ClosedResourceError, OSError):
            await answer.finish(reply)
