"""The fast lane in the 2026-07-28 era: a plain `tools/call`, `resources/read` or `prompts/get` POST
answered in its HTTP task, as the SDK's single-exchange entry would answer it, without the entry's task
group, its per-request runner and its pydantic round trips.

Every check the SDK makes of such a request is made first with the SDK's own functions (the Accept
header, duplicated routing headers, the `_meta` envelope and its headers, the `Mcp-Param-*` headers
against the tool's schema, the params against the method's schema); a request that fails any of them,
or opts in to log lines, or wants progress, is left to the SDK, which answers it. The result is shaped
as the SDK's runner shapes it (cache hints, the per-version sieve, `resultType`, the server-info stamp)
and written as its entry writes it: the same bytes on both paths, which the parity tests check.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import orjson
from mcp.server.connection import Connection
from mcp.server.lowlevel.server import Server
from mcp.server.runner import modern_error_data
from mcp.server.streamable_http import check_accept_headers
from mcp.shared.exceptions import MCPError, NoBackChannelError
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    InboundLadderRejection,
    classify_inbound_request,
    find_duplicated_routing_header,
    validate_mcp_param_headers,
)
from mcp_types import CORE_RESULT_TYPES, INTERNAL_ERROR, LOG_LEVEL_META_KEY, SERVER_INFO_META_KEY, methods
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import Send

from app.gateway.http.fast_calls import FastCalls, eligible, params_of, request_context

log = logging.getLogger(__name__)
MCP_PARAM_PREFIX = "mcp-param-"


class NoBackChannel:
    """The session of a 2026-era call: the era has no server-to-client requests, and log lines go only to a
    request that opted in (those take the SDK's path)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def send_log_message(self, *_: Any, **__: Any) -> None:
        """Not opted in: dropped, as the SDK's session drops it."""

    async def send_request(self, request: Any, *_: Any, **__: Any) -> Any:
        raise NoBackChannelError(request.model_dump(by_alias=True, mode="json", exclude_none=True)["method"])

    async def report_progress(self, *_: Any) -> None:
        """Calls that carry a progress token never take this lane."""


def _mcp_param_checked(server: Server[Any], message: dict[str, Any], request: Request) -> bool:
    """The `Mcp-Param-*` header check of the SDK's entry passes (or has nothing to check)."""
    params = message["params"]
    if message["method"] != "tools/call":
        return True
    arguments = params.get("arguments") or {}
    if not arguments and not any(header.startswith(MCP_PARAM_PREFIX) for header in request.headers):
        return True
    lookup = server.get_tool_input_schema
    schema = lookup(params["name"]) if lookup is not None else None
    if schema is None:
        return lookup is not None  # no lookup: the SDK lists tools to find the schema; leave it that work
    return validate_mcp_param_headers(schema, arguments, request.headers) is None


def accepted(server: Server[Any], message: Any, request: Request) -> Any:
    """The envelope's verdict when the lane may answer this request exactly as the SDK would; else None."""
    if not eligible(message):
        return None
    meta = message["params"].get("_meta")
    if isinstance(meta, dict) and LOG_LEVEL_META_KEY in meta:
        return None  # log lines may have to stream before the result: the SDK's SSE path
    has_json, has_sse = check_accept_headers(request)
    if not (has_json and has_sse) or find_duplicated_routing_header(request.headers.items()) is not None:
        return None
    verdict = classify_inbound_request(message, headers=dict(request.headers))
    if isinstance(verdict, InboundLadderRejection) or verdict.protocol_version not in MODERN_PROTOCOL_VERSIONS:
        return None
    if not _mcp_param_checked(server, message, request):
        return None
    try:
        methods.validate_client_request(message["method"], verdict.protocol_version, message["params"])
    except (KeyError, ValidationError):
        return None
    return verdict


def shaped(server: Server[Any], method: str, version: str, result: Any) -> dict[str, Any]:
    """The result as the SDK's runner puts it on the wire (ServerRunner._serialize)."""
    hint = server.cache_hints.get(method)  # type: ignore[call-overload]
    if hint is not None and isinstance(result, Mapping) and not methods.is_input_required(result):
        result = {"ttlMs": hint.ttl_ms, "cacheScope": hint.scope, **result}
    dumped = dict(result)
    result_type = dumped.get("resultType")
    if not isinstance(result_type, str) or result_type in CORE_RESULT_TYPES:
        try:
            dumped = methods.serialize_server_result(method, version, dumped)
        except ValidationError:
            log.error("the result of %s is not valid for protocol %s", method, version)
            raise MCPError(code=INTERNAL_ERROR, message="Handler returned an invalid result") from None
    if dumped.get("resultType") is None:
        dumped["resultType"] = "complete"
    meta = dumped.get("_meta")
    if meta is None:
        dumped["_meta"] = {SERVER_INFO_META_KEY: server.server_info_stamp}
    elif isinstance(meta, dict) and meta.get(SERVER_INFO_META_KEY) is None:
        dumped["_meta"] = {**meta, SERVER_INFO_META_KEY: server.server_info_stamp}
    return dumped


def sdk_json(reply: dict[str, Any]) -> bytes:
    """The bytes of `json.dumps(reply, separators=(",", ":"))`, as the SDK's entry writes its answers. orjson
    makes the same bytes, several times faster, when they are all ASCII below DEL (json.dumps escapes every
    other character) and there is no float (the two print some of them differently)."""
    if not _has_float(reply):
        try:
            out = orjson.dumps(reply)
        except TypeError:  # an integer beyond 64 bits
            out = b""
        if out and out.isascii() and b"\x7f" not in out:
            return out
    return json.dumps(reply, separators=(",", ":")).encode()


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


async def answer_modern(
    fast: FastCalls, server: Server[Any], verdict: Any, message: dict[str, Any], request: Request, send: Send
) -> None:
    method, params, request_id = message["method"], message["params"], message["id"]
    connection = Connection.from_envelope(verdict.protocol_version, verdict.client_info, verdict.client_capabilities)
    ctx = request_context(NoBackChannel(connection), verdict.protocol_version, message, request)
    entry = server.get_request_handler(method)
    assert entry is not None, f"the gateway serves {method}"
    status, reply = 200, {"jsonrpc": "2.0", "id": request_id}
    try:
        result = await entry.handler(ctx, params_of(method, params))
        reply["result"] = shaped(server, method, verdict.protocol_version, result)
    except Exception as exc:
        error = modern_error_data(exc)
        status = ERROR_CODE_HTTP_STATUS.get(error.code, 200)
        reply["error"] = error.model_dump(mode="json", by_alias=True, exclude_none=True)
    finally:
        await connection.exit_stack.aclose()
    fast.answered += 1
    body = sdk_json(reply)
    head = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})
