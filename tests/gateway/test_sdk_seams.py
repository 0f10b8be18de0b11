"""Every private library internal the gateway touches (app/gateway/sdk/ and the uvicorn protocol in
app/gateway/http/serving.py), pinned. When a library moves, these fail first and say what to re-check."""

from __future__ import annotations

import importlib.metadata
import inspect
import re

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.server import Server
from mcp.server.streamable_http import StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher

from app.gateway.sdk import connection, http_client, processes, raw, streamable
from app.gateway.sdk.patches import _SplitOnlyIfNeeded
from tests.conftest import running, stdio_child, wait_for

pytestmark = pytest.mark.anyio
# The versions the seams were written against. A new version: re-read each seam below against its source,
# fix what moved, then update this table.
PINNED = {"mcp": "2.3.0", "mcp-types": "2.3.0", "sse-starlette": "3.7.0", "uvicorn": "0.54.0", "anyio": "4.16.0"}


@pytest.mark.parametrize("package", sorted(PINNED))
def test_the_libraries_are_the_versions_the_seams_were_written_for(package):
    assert importlib.metadata.version(package) == PINNED[package], (
        f"{package} moved: re-check app/gateway/sdk/ against it, then update PINNED in this file"
    )


def params_of(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


def test_the_private_names_each_seam_uses_still_exist():
    from mcp.client import _input_required
    from mcp.client.session import ClientSession
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    # raw.py: the dispatcher's raw request (the session's per-era `_stamp` is checked on a live session below);
    # the 2026 era's input rounds.
    assert params_of(JSONRPCDispatcher.send_raw_request)[1:4] == ["method", "params", "opts"]
    assert {"first", "dispatch", "retry"} <= set(params_of(_input_required.run_input_required_driver))
    assert {"session", "request_id", "meta"} <= set(inspect.signature(ClientRequestContext).parameters)
    assert callable(ClientSession.dispatch_input_request)
    # streamable.py: the transport methods and state the subclass relies on.
    for name in ("_handle_post_request", "_validate_accept_header", "_validate_request_headers", "_check_content_type",
                 "_create_session_message", "_create_json_response", "_create_error_response",
                 "_clean_up_memory_streams", "_create_event_data", "_run_sse_writer"):
        assert callable(getattr(StreamableHTTPServerTransport, name)), name
    assert callable(StreamableHTTPSessionManager._admit_session)
    # streamable.py: the 2026 era's fast lane goes in front of the manager's `asgi_app`, which the ASGI app calls.
    assert "session_manager.asgi_app(" in inspect.getsource(StreamableHTTPASGIApp.__call__)
    # http/fast_modern.py: the runner's result shaping it mirrors (cache hints, sieve, resultType, server info).
    from mcp.server.runner import ServerRunner

    shaping = inspect.getsource(ServerRunner._serialize)
    for step in ("cache_hints", "serialize_server_result", "CORE_RESULT_TYPES", '"resultType"', "_stamp_server_info"):
        assert step in shaping, step
    # http/fast_sse.py: the session id comes from the stream's endpoint event, and the SDK's SSE writer
    # serializes each message written to the session's write stream with `model_dump_json`.
    from mcp.server.sse import SseServerTransport

    writer = inspect.getsource(SseServerTransport.connect_sse)
    assert '"event": "endpoint"' in writer and "?session_id={session_id.hex}" in writer
    assert "session_message.message.model_dump_json(" in writer
    # http/fast_calls.py: its FastSession stands in for the SDK's per-request ServerSession, under the same names.
    from mcp.server.session import ServerSession

    assert params_of(ServerSession.send_log_message)[1:5] == ["level", "data", "logger", "related_request_id"]
    assert params_of(ServerSession.send_request)[1:3] == ["request", "result_type"]
    assert "metadata" in params_of(ServerSession.send_request)
    assert "_connection" in inspect.getsource(ServerSession.__init__)
    # server.py: the middleware list we replace.
    assert isinstance(Server("x").middleware, list)
    # serving.py: the uvicorn parser callbacks the bounded protocol extends.
    for name in ("connection_made", "connection_lost", "on_message_begin", "on_message_complete"):
        assert callable(getattr(HttpToolsProtocol, name)), name
    # patches.py: sse-starlette's line splitting, replaced when app.gateway.sdk is imported.
    from sse_starlette.event import ServerSentEvent

    assert isinstance(ServerSentEvent._LINE_SEP_EXPR, _SplitOnlyIfNeeded)
    assert isinstance(ServerSentEvent._LINE_SEP_EXPR.expr, re.Pattern)


async def test_raw_requests_and_the_connection_behind_a_context_work_on_a_real_child(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py")})
    await wait_for(running(gw, "toy"))
    child = gw.supervisors["toy"]._client
    assert params_of(child.session._stamp) == ["data", "opts"]  # set per era at the handshake
    assert isinstance(child.session._dispatcher, JSONRPCDispatcher)
    result = await raw.send_raw(child, "tools/call", {"name": "echo", "arguments": {"text": "raw"}})
    assert result["content"] == [{"type": "text", "text": "raw"}]  # a plain dict, as the child wrote it
    async with Client(gw.url, mode="legacy") as client:
        await client.call_tool("toy__echo", {"text": "x"})
        [info] = gw.clients()
        conn = info.connection
        assert isinstance(conn.state, dict) and conn.exit_stack is not None and conn.client_params is not None
        assert callable(conn.send_tool_list_changed) and conn.session_id
    assert connection.connection_of.__code__.co_names == ("session", "_connection")


async def test_plain_calls_are_answered_as_json_and_calls_with_progress_as_a_stream(gateway_factory):
    """The Streamable HTTP subclass is in force: JSON unless something streams before the result."""
    gw = await gateway_factory({"toy": stdio_child("toy.py")})
    await wait_for(running(gw, "toy"))
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    async with httpx2.AsyncClient(timeout=30) as http:
        first = await http.post(gw.url, json=init, headers=headers)
        headers |= {"Mcp-Session-Id": first.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
        await http.post(gw.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
        echo = {"name": "toy__echo", "arguments": {"text": "a"}}
        plain = await http.post(gw.url, headers=headers, json={"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                                                "params": echo})
        assert plain.headers["content-type"].startswith("application/json")
        streamed = await http.post(gw.url, headers=headers, json={
            "jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "toy__slow", "arguments": {"seconds": 0.2}, "_meta": {"progressToken": "p"}}})
        assert streamed.headers["content-type"].startswith("text/event-stream")
        assert '"method":"notifications/progress"' in streamed.text.replace(" ", "")
    assert streamable.open_sessions(gw._app.endpoints["*"].manager) == 1


async def test_the_http_client_factory_and_the_process_transport_walk():
    async with http_client.create_mcp_http_client() as http:
        assert isinstance(http, httpx2.AsyncClient)
    process = await anyio.open_process(["sleep", "30"])
    try:
        assert callable(getattr(process._process._transport, "close", None))  # what close_process_transport uses
    finally:
        process.kill()
        await process.wait()
        processes.close_process_transport(process)


# --- sdk/oauth.py: the SDK's OAuth client, driven and extended by ChildOAuth ---------------------------------


def test_the_oauth_client_seams_still_exist():
    import dataclasses

    from mcp.client.auth import OAuthClientProvider, OAuthFlowError
    from mcp.client.auth import utils as auth_utils
    from mcp.client.auth.oauth2 import OAuthContext

    # ChildOAuth passes these positionally, in this order.
    assert params_of(OAuthClientProvider.__init__)[1:7] == [
        "server_url", "client_metadata", "storage", "redirect_handler", "callback_handler", "client_metadata_url"
    ]
    # It wraps the flow (an async generator httpx drives) and the step that starts an authorization.
    assert inspect.isasyncgenfunction(OAuthClientProvider._auth_flow)
    assert params_of(OAuthClientProvider._auth_flow)[1:] == ["request"]
    assert inspect.iscoroutinefunction(OAuthClientProvider._perform_authorization)
    # The context fields it reads and sets.
    fields = {f.name for f in dataclasses.fields(OAuthContext)}
    assert {"server_url", "client_metadata", "oauth_metadata", "protected_resource_metadata", "auth_server_url",
            "token_expiry_time", "current_tokens"} <= fields
    assert callable(OAuthContext.can_refresh_token) and callable(OAuthContext.is_token_valid)
    assert issubclass(OAuthFlowError, Exception)
    # The discovery helpers it uses to say what a server asks for, without starting a flow.
    for name, first in (("build_protected_resource_metadata_discovery_urls", 2), ("create_oauth_metadata_request", 1),
                        ("extract_field_from_www_auth", 2), ("extract_resource_metadata_from_www_auth", 1),
                        ("extract_scope_from_www_auth", 1), ("get_client_metadata_scopes", 2),
                        ("handle_protected_resource_response", 1), ("union_scopes", 2)):
        assert len(params_of(getattr(auth_utils, name))) >= first, name


def _child_oauth(tokens: bool, refresh_at: float | None = None):
    from mcp.shared.auth import OAuthToken

    from app.config.models import RemoteServer
    from app.gateway.children.oauth import client_metadata
    from app.gateway.children.tokens import SignInRecord, StoredSignIn
    from app.gateway.sdk.oauth import ChildOAuth

    url = "http://127.0.0.1:9/mcp"
    record = SignInRecord(url, issuer="http://127.0.0.1:9")
    if tokens:
        record.tokens = OAuthToken(access_token="at-seam", refresh_token="rt-seam", expires_in=3600)
        record.expires_at = refresh_at
    stored = StoredSignIn(None, "docs", record)
    return ChildOAuth(url, client_metadata(RemoteServer(url=url), "http://127.0.0.1/callback"), stored)


async def test_the_sdk_sends_the_request_itself_first_with_a_kept_valid_token():
    """ChildOAuth tells the caller's request from the SDK's own (discovery, refresh) by identity: the first
    request the SDK's flow yields must be the one it was given, carrying the kept token."""
    import time

    provider = _child_oauth(tokens=True, refresh_at=time.time() + 3600)
    request = httpx2.Request("POST", "http://127.0.0.1:9/mcp")
    flow = provider._auth_flow(request)
    outgoing = await flow.__anext__()
    await flow.aclose()
    assert outgoing is request and request.headers["authorization"] == "Bearer at-seam"


async def test_a_token_past_its_expiry_time_makes_the_sdk_refresh_first():
    """The refresh ahead of expiry works by setting token_expiry_time earlier: the SDK must then send a
    refresh (to the token endpoint) before the request, not the stale token."""
    import time

    from mcp.shared.auth import OAuthClientInformationFull, OAuthMetadata

    provider = _child_oauth(tokens=True, refresh_at=time.time() - 5)
    provider.stored.record.metadata = OAuthMetadata.model_validate({
        "issuer": "http://127.0.0.1:9", "authorization_endpoint": "http://127.0.0.1:9/authorize",
        "token_endpoint": "http://127.0.0.1:9/token", "response_types_supported": ["code"],
    })
    provider.stored.configured = OAuthClientInformationFull(client_id="seam", redirect_uris=None)
    request = httpx2.Request("POST", "http://127.0.0.1:9/mcp")
    flow = provider._auth_flow(request)
    outgoing = await flow.__anext__()
    await flow.aclose()
    assert outgoing is not request
    assert str(outgoing.url) == "http://127.0.0.1:9/token" and b"grant_type=refresh_token" in outgoing.content
