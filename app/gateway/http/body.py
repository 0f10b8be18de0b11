"""What every POSTed JSON-RPC body must be before an SDK transport sees it: small enough, and with an id
JSON-RPC allows; on the legacy SSE message route, a JSON-RPC message at all.

The SDK answers an oversized body with a plain-text 413, which SDK clients report only as "Server
returned an error response"; here it is a JSON-RPC error that names the limit and the setting. A request
whose id is a float, a boolean, null, an array or an object got HTTP 202 and no answer at all; here it
gets -32600 Invalid Request. On /messages/, the SDK hands a body it cannot parse to the session as an
error, which ends that client's session: one bad POST cut a working client off. Here such a body is
answered with the JSON-RPC error and never reaches the session. The body is read once, bounded, and
handed on unchanged; each refusal is one log line, rate-limited per client address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.gateway.logging_limits import RateLimitedLog

PARSED_BODY = "switchboard.message"  # the scope key under which the parsed body is handed on
INVALID_REQUEST = -32600
PARSE_ERROR = -32700
log = logging.getLogger(__name__)
_REFUSALS: dict[str, RateLimitedLog] = {}
_KINDS = {float: "a number with a fraction", bool: "a boolean", list: "an array", dict: "an object"}


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB" if n >= 1024 * 1024 else f"{n / 1024:g} KiB"


def checked_body(app: ASGIApp, limit: Callable[[], int], *, whole_message: bool = False) -> ASGIApp:
    """`whole_message`: also refuse anything that is not a JSON-RPC message (the SSE message route)."""

    async def checked(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        max_bytes = limit()
        too_large = (
            f"The request body is larger than {_size(max_bytes)}, the gateway's limit "
            "(gateway.max_body_bytes in the config file)."
        )
        declared = _content_length(scope)
        if declared is not None and declared > max_bytes:
            await _error(send, 413, None, too_large)
            return
        chunks: list[bytes] = []
        size = 0
        trailing: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                trailing = message
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                await _error(send, 413, None, too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        code, problem = _problem(body, whole_message, scope)
        if problem is not None:
            _refusals(scope).warning("sent a message that was refused: %s", problem)
            await _error(send, 400, None, problem, code)
            return
        replay: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        if trailing is not None:
            replay.append(trailing)

        async def again() -> Message:
            return replay.pop(0) if replay else await receive()

        await app(scope, again, send)

    return checked


def _problem(body: bytes, whole_message: bool, scope: Scope) -> tuple[int, str | None]:
    """(JSON-RPC error code, a sentence) when the body must be refused; (0, None) to hand it on. A body that
    is not JSON is left to the Streamable HTTP transport, which answers it with its own parse error. A JSON
    body is kept, parsed, in the scope (the fast lane reads it there)."""
    try:
        message: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return (PARSE_ERROR, "Parse error: the body is not JSON") if whole_message else (0, None)
    scope[PARSED_BODY] = message
    if not isinstance(message, dict):
        return (INVALID_REQUEST, "Invalid Request: a JSON-RPC message is a JSON object") if whole_message else (0, None)
    if "method" in message and "id" in message:
        request_id = message["id"]
        if not (isinstance(request_id, str) or (isinstance(request_id, int) and not isinstance(request_id, bool))):
            kind = "null" if request_id is None else _KINDS.get(type(request_id), type(request_id).__name__)
            return INVALID_REQUEST, f"Invalid Request: a request id must be a string or an integer, not {kind}"
    if whole_message:
        shaped = message.get("jsonrpc") == "2.0" and (
            (isinstance(message.get("method"), str) and isinstance(message.get("params", {}), dict))
            or ("method" not in message and "id" in message and ("result" in message or "error" in message))
        )
        if not shaped:
            return INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 request, notification or response"
    return 0, None


def _refusals(scope: Scope) -> RateLimitedLog:
    client = scope.get("client")
    address = client[0] if client else "unknown"
    limit = _REFUSALS.get(address)
    if limit is None:
        if len(_REFUSALS) > 1000:  # bounded, however many addresses
            _REFUSALS.clear()
        limit = _REFUSALS[address] = RateLimitedLog(log, f"client {address}")
    return limit


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _error(send: Send, status: int, request_id: Any, message: str, code: int = INVALID_REQUEST) -> None:
    body = orjson.dumps({"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
