"""Streamable HTTP that answers a request with plain JSON unless something must stream first.

The SDK's handshake-era transport decides per session: every POST answer is an SSE stream (so a
call can carry progress, log messages and the child's sampling requests), or every one is plain
JSON (and those are dropped). Most calls send nothing but their result, and the SSE machinery
costs about 40 % of the gateway's CPU per call (bench/README.md). Here each request decides for
itself: the answer waits for the first message on the request's own stream; a result goes out as
JSON, anything else opens the SSE stream, starting with that message. The 2026-era path of the
SDK already defers this way.
"""

from __future__ import annotations

from functools import partial
from http import HTTPStatus
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.auth.middleware.bearer_auth import AuthorizationContext
from mcp.server.streamable_http import (
    CONTENT_TYPE_SSE,
    MCP_SESSION_ID_HEADER,
    REQUEST_STREAM_BUFFER_SIZE,
    EventMessage,
    StreamableHTTPServerTransport,
)
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types import (
    DEFAULT_NEGOTIATED_VERSION,
    INTERNAL_ERROR,
    INVALID_REQUEST,
    JSONRPCError,
    JSONRPCRequest,
    JSONRPCResponse,
    jsonrpc_message_adapter,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.gateway.http.body import PARSED_BODY
from app.gateway.http.fast_calls import Answer, FastCalls, Lane
from app.gateway.http.fast_modern import accepted, answer_modern


class DeferredStreamTransport(StreamableHTTPServerTransport):
    # The server half of the fast lane (http/fast_calls.py), set by the session manager; None: off.
    fast: FastCalls | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lane = Lane()  # this session's requests to the client and calls in flight on the fast lane

    async def _handle_post_request(self, scope: Scope, request: Request, receive: Receive, send: Send) -> None:
        if self.fast is not None and await self._fast_lane(self.fast, scope, request, receive, send):
            return
        message = await self._plain_request(request)
        if message is None:  # initialize, notifications, anything malformed: the SDK's own path
            await super()._handle_post_request(scope, request, receive, send)
            return
        if not await self._validate_accept_header(request, scope, send):
            return
        if not await self._validate_request_headers(request, send):
            return
        writer = self._read_stream_writer
        assert writer is not None, "connect() first"
        request_id = str(message.id)  # the SDK's key for the request's stream: 6 and "6" are one id to it
        if request_id in self._request_streams or request_id in self._lane.calls:
            await self._duplicate(message.id)(scope, receive, send)
            return
        protocol_version = request.headers.get(MCP_PROTOCOL_VERSION_HEADER, DEFAULT_NEGOTIATED_VERSION)
        streams = anyio.create_memory_object_stream[EventMessage](REQUEST_STREAM_BUFFER_SIZE)
        self._request_streams[request_id] = streams
        reader = streams[1]
        await writer.send(self._create_session_message(message, request, request_id, protocol_version))
        try:
            first = await reader.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            await self._clean_up_memory_streams(request_id)
            response = self._create_error_response(
                "Session terminated before the request completed", HTTPStatus.INTERNAL_SERVER_ERROR, INTERNAL_ERROR
            )
            await response(scope, receive, send)
            return
        if isinstance(first.message, JSONRPCResponse | JSONRPCError):
            await self._clean_up_memory_streams(request_id)
            await self._create_json_response(first.message)(scope, receive, send)
            return
        await self._stream(scope, receive, send, request_id, first, reader)

    async def _fast_lane(self, fast: FastCalls, scope: Scope, request: Request, receive: Receive, send: Send) -> bool:
        """Answer the POST on the fast lane when it is one of its calls, an answer to one of its requests to
        the client, or a cancellation of one of its calls. False leaves it to the SDK's path."""
        message = scope.get(PARSED_BODY)  # parsed once, by http/body.py
        if not isinstance(message, dict) or not self._check_content_type(request):
            return False
        if FastCalls.picked_off(message, self._lane):
            await self._create_json_response(None, HTTPStatus.ACCEPTED)(scope, receive, send)
            return True
        connection = fast.connection_of(self.mcp_session_id)
        if connection is None or not fast.accepts(message, connection.protocol_version):
            return False
        if not await self._validate_accept_header(request, scope, send):
            return True
        if not await self._validate_request_headers(request, send):
            return True
        key = str(message["id"])
        if key in self._request_streams or key in self._lane.calls:
            await self._duplicate(message["id"])(scope, receive, send)
            return True
        assert self.mcp_session_id is not None
        await fast.answer(connection, message, request, Answer(send, self.mcp_session_id), self._lane)
        return True

    def _duplicate(self, request_id: Any) -> Response:
        # Registering it would overwrite the first request's stream: that one would never be answered.
        return self._create_error_response(
            f"Invalid Request: a request with id {request_id!r} is already in flight on this session; "
            "each request needs an id of its own",
            HTTPStatus.BAD_REQUEST,
            INVALID_REQUEST,
        )

    async def _plain_request(self, request: Request) -> JSONRPCRequest | None:
        """The POSTed message when it is a request this class answers; None leaves it to the SDK."""
        if not self._check_content_type(request):
            return None
        body = await request.body()  # Starlette keeps it: the SDK's path can read it again
        try:
            message = jsonrpc_message_adapter.validate_json(body, by_name=False)
        except ValueError:
            return None
        if not isinstance(message, JSONRPCRequest) or message.method == "initialize":
            return None
        return message

    async def _stream(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: str,
        first: EventMessage,
        reader: MemoryObjectReceiveStream[EventMessage],
    ) -> None:
        """Something other than the result came first: answer as an SSE stream, that message first."""
        sse_writer, sse_reader = anyio.create_memory_object_stream[Any](0)
        self._sse_stream_writers[request_id] = sse_writer
        headers = {
            "Cache-Control": "no-cache, no-transform",
            "Connection": "keep-alive",
            "Content-Type": CONTENT_TYPE_SSE,
            **({MCP_SESSION_ID_HEADER: self.mcp_session_id} if self.mcp_session_id else {}),
        }
        response = EventSourceResponse(
            content=sse_reader,
            data_sender_callable=partial(self._write_from, first, request_id, sse_writer, reader),
            headers=headers,
        )
        try:
            await response(scope, receive, send)
        finally:
            await sse_reader.aclose()

    async def _write_from(
        self,
        first: EventMessage,
        request_id: str,
        sse_writer: MemoryObjectSendStream[Any],
        reader: MemoryObjectReceiveStream[EventMessage],
    ) -> None:
        try:
            await sse_writer.send(self._create_event_data(first))
        except anyio.ClosedResourceError:
            return
        await self._run_sse_writer(request_id, sse_writer, reader, None)


class DeferredStreamSessionManager(StreamableHTTPSessionManager):
    """The SDK's session manager, with each new session on `DeferredStreamTransport`."""

    def __init__(self, *args: Any, fast: FastCalls | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast = fast
        # StreamableHTTPASGIApp calls `asgi_app` (the SDK's body limit around its request handler): the 2026
        # era's fast lane goes in front of it.
        self._sdk_app = self.asgi_app
        self.asgi_app = self._modern_lane_first  # type: ignore[assignment]

    async def _modern_lane_first(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A 2026-era POST the fast lane can answer is answered here (http/fast_modern.py); the rest as the SDK
        answers them. The body was read and parsed once already (http/body.py keeps it in the scope)."""
        fast, message = self.fast, scope.get(PARSED_BODY)
        if fast is not None and fast.on and message is not None and _modern(scope):
            request = Request(scope, receive)
            verdict = accepted(self.app, message, request)
            if verdict is not None:
                await answer_modern(fast, self.app, verdict, message, request, send)
                return
        await self._sdk_app(scope, receive, send)

    def _admit_session(self, requestor: AuthorizationContext | None) -> StreamableHTTPServerTransport | None:
        transport = super()._admit_session(requestor)
        if transport is None:
            return None
        # Same settings, our class: re-create it under the id the manager just registered.
        deferred = DeferredStreamTransport(
            mcp_session_id=transport.mcp_session_id,
            is_json_response_enabled=self.json_response,
            event_store=self.event_store,
            security_settings=self.security_settings,
            retry_interval=self.retry_interval,
            idle_timeout=self.session_idle_timeout,
        )
        deferred.fast = self.fast
        assert transport.mcp_session_id is not None
        self._server_instances[transport.mcp_session_id] = deferred
        return deferred


def _modern(scope: Scope) -> bool:
    header = MCP_PROTOCOL_VERSION_HEADER.encode("ascii").lower()
    version = next((v for k, v in scope["headers"] if k == header), None)
    return version is not None and version.decode("latin-1") in MODERN_PROTOCOL_VERSIONS


def open_sessions(manager: StreamableHTTPSessionManager) -> int:
    """How many Streamable HTTP sessions the manager holds (the metrics' `sessions`, the reaping test)."""
    return len(manager._server_instances)
