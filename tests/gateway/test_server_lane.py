"""The server half of the fast lane (app/gateway/http/fast_calls.py): a plain call is answered in its HTTP
request's task, with the same bytes the SDK's server session would have sent, and everything a call may
need on the way (log lines, the child's requests, cancellation) still works."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2 as httpx
import mcp_types as types
import orjson
import pytest
from mcp import Client
from mcp.client.sse import sse_client

from tests.conftest import PYTHON, SHARED, running, stdio_child, wait_for
from tests.gateway.test_fast_lane import echo_concurrently

pytestmark = pytest.mark.anyio
FIXTURE = SHARED / "conformance" / "server.py"
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
VERSION = "2025-11-25"
REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("tools/call", {"name": "toy__echo", "arguments": {"text": 'ünïcødé ✓ 日本語 \\n "quotes" \u0000'}}),
    ("tools/call", {"name": "toy__echo", "arguments": {"text": "with meta"}, "_meta": {"trace": "x"}}),
    ("tools/call", {"name": "toy__blob", "arguments": {"kib": 3000}}),
    ("tools/call", {"name": "toy__fails", "arguments": {}}),
    ("tools/call", {"name": "toy__nope", "arguments": {}}),
    ("tools/call", {"name": "toy__pid"}),
    ("prompts/get", {"name": "toy__greet", "arguments": {"who": "Ada"}}),
    ("prompts/get", {"name": "toy__nope"}),
    ("resources/read", {"uri": "toy://counter"}),
    ("resources/read", {"uri": "toy://nothing-here"}),
    ("tools/call", {"name": "raw__ok", "arguments": {}}),  # a child's own key order: the SDK's sieve reorders it
]
CONFORMANCE = ["test_simple_text", "test_image_content", "test_audio_content", "test_embedded_resource",
               "test_multiple_content_types", "test_error_handling"]  # fmt: skip


def lane_of(gw: Any, endpoint: str = "*") -> Any:
    return gw._app.endpoints[endpoint].manager.fast


async def toy_with_lane(gateway_factory: Any) -> tuple[Any, Any]:
    gw = await gateway_factory({"toy": stdio_child("toy.py")})
    await wait_for(running(gw, "toy"))
    return gw, lane_of(gw)


class RawSession:
    """A handshake-era Streamable HTTP session spoken byte by byte, as a client sends it."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http, self.url, self.headers, self.next_id = http, url, dict(ACCEPT), 1

    async def open(self) -> RawSession:
        hello = {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
        reply = await self.http.post(self.url, json={"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                                     "params": hello}, headers=self.headers)  # fmt: skip
        self.headers |= {"mcp-session-id": reply.headers["mcp-session-id"], "mcp-protocol-version": VERSION}
        await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        await self.request("tools/list", {})  # the session's first request registers its client
        return self

    async def post(self, message: dict[str, Any]) -> httpx.Response:
        return await self.http.post(self.url, content=orjson.dumps(message), headers=self.headers)

    async def request(self, method: str, params: dict[str, Any], request_id: Any = None) -> httpx.Response:
        if request_id is None:
            request_id, self.next_id = self.next_id, self.next_id + 1
        return await self.post({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})


async def exchange(session: RawSession, requests: list[tuple[str, dict[str, Any]]]) -> list[tuple[int, str, bytes]]:
    out = []
    for i, (method, params) in enumerate(requests):
        reply = await session.request(method, params, request_id=1000 + i)
        out.append((reply.status_code, reply.headers["content-type"], reply.content))
    return out


async def test_the_lane_answers_byte_for_byte_as_the_sdks_server_session(gateway_factory):
    servers = {"toy": stdio_child("toy.py"), "raw": stdio_child("misbehave.py")}
    requests = list(REQUESTS)
    if FIXTURE.exists():
        servers["conf"] = {"command": PYTHON, "args": [str(FIXTURE)]}
        requests += [("tools/call", {"name": f"conf__{name}", "arguments": {}}) for name in CONFORMANCE]
    gw = await gateway_factory(servers)
    await wait_for(running(gw, *servers))
    lane = lane_of(gw)
    async with httpx.AsyncClient(timeout=30) as http:
        session = await RawSession(http, gw.url).open()
        taken = lane.answered
        fast = await exchange(session, requests)
        assert lane.answered == taken + len(requests)  # every one of them took the lane
        lane.on = False
        slow = await exchange(session, requests)
        assert lane.answered == taken + len(requests)  # ... and none of these
    for (method, params), a, b in zip(requests, fast, slow, strict=True):
        assert a == b, f"{method} {params.get('name') or params.get('uri')}"
    assert all(status == 200 and kind == "application/json" for status, kind, _ in fast)
    assert b'"isError":true' in fast[3][2] and b"Unknown tool: toy__nope" in fast[4][2]


async def test_what_the_lane_leaves_to_the_sdk(gateway_factory):
    gw, lane = await toy_with_lane(gateway_factory)
    async with httpx.AsyncClient(timeout=30) as http:
        session = RawSession(http, gw.url)
        hello = {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
        reply = await session.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello})
        session.headers |= {"mcp-session-id": reply.headers["mcp-session-id"], "mcp-protocol-version": VERSION}
        await session.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        first = await session.request("tools/call", {"name": "toy__echo", "arguments": {"text": "first"}})
        with_progress = await session.request(
            "tools/call", {"name": "toy__slow", "arguments": {"seconds": 0.01}, "_meta": {"progressToken": "p"}}
        )
        odd_arguments = await session.request("tools/call", {"name": "toy__echo", "arguments": ["not", "an", "object"]})
        odd_id = await session.post({"jsonrpc": "2.0", "id": True, "method": "tools/call", "params": {"name": "x"}})
    assert b"first" in first.content  # a session's first request: the SDK's path (it registers the client)
    assert b"notifications/progress" in with_progress.content  # progress streams, on the SDK's path
    assert b'"error"' in odd_arguments.content and b'"error"' in odd_id.content  # the SDK's own checks answer
    assert lane.answered == 0


async def test_a_childs_log_lines_turn_the_answer_into_a_stream_in_order(gateway_factory):
    gw, lane = await toy_with_lane(gateway_factory)
    logged: list[tuple[str, Any]] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logged.append((params.level, params.data))

    async with Client(gw.url, mode="legacy", logging_callback=on_log) as client:
        await client.list_tools()
        taken = lane.answered
        for _ in range(3):
            result = await client.call_tool("toy__chatty", {})
            assert result.content[0].text == "chatted"
    assert lane.answered == taken + 3
    assert logged == [("info", "first"), ("warning", "second")] * 3


async def test_a_childs_sampling_request_reaches_the_caller_of_a_lane_call(gateway_factory):
    gw, lane = await toy_with_lane(gateway_factory)
    asked: list[str] = []

    async def sampling(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        asked.append(params.messages[0].content.text)
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text="yes"),
                                         model="test")  # fmt: skip

    async with Client(gw.url, mode="legacy", sampling_callback=sampling) as client:
        await client.list_tools()
        taken = lane.answered
        result = await client.call_tool("toy__ask", {"prompt": "ok?"})
    assert result.content[0].text == "model said: yes"
    assert asked == ["ok?"]
    assert lane.answered == taken + 1


async def test_a_lane_call_can_be_cancelled_and_a_duplicate_id_is_refused(gateway_factory):
    gw, lane = await toy_with_lane(gateway_factory)
    async with httpx.AsyncClient(timeout=30) as http:
        session = await RawSession(http, gw.url).open()
        answers: list[httpx.Response] = []

        async def slow_call() -> None:
            answers.append(await session.request("tools/call", {"name": "toy__slow", "arguments": {"seconds": 60}},
                                                 request_id="long"))  # fmt: skip

        async with anyio.create_task_group() as tg:
            tg.start_soon(slow_call)
            transport = gw._app.endpoints["*"].manager._server_instances[session.headers["mcp-session-id"]]
            await wait_for(lambda: "long" in transport._lane.calls, what="the call is in flight on the lane")
            duplicate = await session.request("tools/call", {"name": "toy__echo", "arguments": {}}, request_id="long")
            cancelled = await session.post({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                            "params": {"requestId": "long", "reason": "test"}})  # fmt: skip
    assert duplicate.status_code == 400 and b"already in flight" in duplicate.content
    assert cancelled.status_code == 202
    assert orjson.loads(answers[0].content)["error"]["code"] == -32800
    assert lane.answered >= 1
    await wait_for(lambda: gw.supervisors["toy"]._lane.waiting is False, what="the child's call is withdrawn")


async def test_a_child_that_dies_mid_call_answers_a_lane_call_with_its_name(gateway_factory):
    gw, lane = await toy_with_lane(gateway_factory)
    async with httpx.AsyncClient(timeout=30) as http:
        session = await RawSession(http, gw.url).open()
        taken = lane.answered
        reply = await session.request("tools/call", {"name": "toy__crash", "arguments": {}})
    error = orjson.loads(reply.content)["error"]
    assert "Server 'toy' stopped while handling the request" in error["message"]
    assert lane.answered == taken + 1


async def test_the_2026_eras_header_check_finds_a_tools_schema_in_the_catalog(gateway_factory):
    """Without the lookup the SDK runs a whole tools/list through the handlers for every 2026-era call."""
    gw = await gateway_factory({"toy": stdio_child("toy.py")})
    await wait_for(running(gw, "toy"))
    server = gw._app.endpoints["*"].server
    schema = server.get_tool_input_schema("toy__echo")
    assert schema is not None and "text" in schema["properties"]
    assert server.get_tool_input_schema("toy__nope") is None
    async with Client(gw.url) as client:  # the 2026-07-28 era: the call is checked against that schema
        result = await client.call_tool("toy__echo", {"text": "modern"})
    assert result.content[0].text == "modern"


MODERN = "2026-07-28"
MODERN_META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientInfo":
               {"name": "raw", "version": "1"}, "io.modelcontextprotocol/clientCapabilities": {}}  # fmt: skip


async def modern_exchange(http: Any, url: str, requests: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    out = []
    for i, (method, params) in enumerate(requests):
        params = {**params, "_meta": {**params.get("_meta", {}), **MODERN_META}}
        name = params.get("name") or params.get("uri")
        headers = {**ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": method, "mcp-name": name}
        message = {"jsonrpc": "2.0", "id": 2000 + i, "method": method, "params": params}
        reply = await http.post(url, content=orjson.dumps(message), headers=headers)
        out.append((reply.status_code, reply.headers["content-type"], reply.content))
    return out


async def test_in_the_2026_era_too_the_lane_answers_byte_for_byte_as_the_sdk(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py"), "raw": stdio_child("misbehave.py")})
    await wait_for(running(gw, "toy", "raw"))
    lane = lane_of(gw)
    requests = [*REQUESTS, ("tools/call", {"name": "toy__ask", "arguments": {"prompt": "?"}}),
                ("tools/call", {"name": "toy__chatty", "arguments": {}})]  # fmt: skip
    async with httpx.AsyncClient(timeout=30) as http:
        fast = await modern_exchange(http, gw.url, requests)
        assert lane.answered == len(requests)
        opted_in = [("tools/call", {"name": "toy__chatty", "arguments": {},
                                    "_meta": {"io.modelcontextprotocol/logLevel": "info"}})]  # fmt: skip
        streamed = await modern_exchange(http, gw.url, opted_in)
        assert lane.answered == len(requests)  # log lines asked for: the SDK's path
        lane.on = False
        slow = await modern_exchange(http, gw.url, requests)
    for (method, params), a, b in zip(requests, fast, slow, strict=True):
        assert a == b, f"{method} {params.get('name') or params.get('uri')}"
    assert fast[0][0] == 200 and b"resultType" in fast[0][2] and b"serverInfo" in fast[0][2]
    assert b"no back-channel for server-initiated requests" in fast[-2][2]  # the era has none
    assert b"notifications/message" in streamed[0][2]


async def test_on_legacy_sse_the_lane_answers_as_the_sdk_and_keeps_logs_sampling_and_order(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py"), "raw": stdio_child("misbehave.py")})
    await wait_for(running(gw, "toy", "raw"))
    lane = lane_of(gw)
    logged: list[Any] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logged.append(params.data)

    async def sampling(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text="yes"),
                                         model="test")  # fmt: skip

    calls = [("toy__echo", {"text": "ünïcødé ✓"}), ("toy__blob", {"kib": 300}), ("toy__fails", {}),
             ("raw__ok", {}), ("toy__chatty", {}), ("toy__ask", {"prompt": "?"})]  # fmt: skip

    async def run(client: Client) -> list[Any]:
        out: list[Any] = []
        for name, arguments in calls:
            out.append((await client.call_tool(name, arguments)).model_dump(mode="json", by_alias=True))
        try:
            await client.call_tool("toy__nope", {})
        except Exception as exc:
            out.append(str(exc))
        return out

    url = gw.base_url + "/sse"
    async with Client(sse_client(url), mode="legacy", logging_callback=on_log, sampling_callback=sampling) as client:
        await client.list_tools()
        fast = await run(client)
        assert lane.answered == len(calls) + 1
        concurrent = await echo_concurrently(client, 20)
        lane.on = False
        slow = await run(client)
    assert fast == slow
    assert concurrent == [f"n{i}" for i in range(20)]
    assert logged == ["first", "second"] * 2



@pytest.mark.parametrize(
    "reply",
    [
        {"jsonrpc": "2.0", "id": 1, "result": {"text": "".join(chr(i) for i in range(128)), "n": [1, -2, 10**18]}},
        {"jsonrpc": "2.0", "id": "a", "result": {"text": "ünïcødé ✓ 日本語", "ok": True, "none": None}},
        {"jsonrpc": "2.0", "id": 2, "result": {"floats": [1.5, 1e-07, 1e16, 0.1 + 0.2, -0.0]}},
        {"jsonrpc": "2.0", "id": 3, "result": {"big": 2**70, "nested": [{"deep": [{"x": 1.0}]}]}},
    ],
)
def test_the_2026_answers_bytes_are_json_dumps_bytes(reply):
    import json

    from app.gateway.http.fast_modern import sdk_json

    assert sdk_json(reply) == json.dumps(reply, separators=(",", ":")).encode()
