"""End to end through a real gateway and a real child: what a client sends reaches the child, and back."""

from __future__ import annotations

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPError

from tests.conftest import ROOT, running, stdio_child, wait_for

NODE_MODULES = ROOT / "tests" / "node" / "node_modules"

pytestmark = pytest.mark.anyio


@pytest.fixture
async def toy_gateway(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py")})
    await wait_for(running(gw, "toy"))
    return gw


def sse_url(gw, prefix: str = "") -> str:
    return f"{gw.base_url}{prefix}/sse"


async def test_names_are_namespaced_and_calls_route_back(toy_gateway):
    async with Client(toy_gateway.url, mode="legacy") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "toy__echo" in names and "echo" not in names
        result = await client.call_tool("toy__echo", {"text": "routed"})
        assert result.content[0].text == "routed"
        assert not result.is_error
        prompt = await client.get_prompt("toy__greet", {"who": "Ada"})
        assert prompt.messages[0].content.text == "Say hello to Ada"


async def test_tool_level_error_is_passed_through(toy_gateway):
    async with Client(toy_gateway.url, mode="legacy") as client:
        result = await client.call_tool("toy__fails", {})
        assert result.is_error and result.content[0].text == "it failed"


async def test_unknown_tool_is_a_clear_error_and_the_gateway_keeps_serving(toy_gateway):
    async with Client(toy_gateway.url, mode="legacy") as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("toy__nope", {})
        assert caught.value.error.code == types.INVALID_PARAMS
        assert "Unknown tool: toy__nope" in caught.value.error.message
        assert (await client.call_tool("toy__echo", {"text": "still here"})).content[0].text == "still here"


async def test_progress_reaches_the_client(toy_gateway):
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with Client(toy_gateway.url, mode="legacy") as client:
        result = await client.call_tool("toy__slow", {"seconds": 0.2}, progress_callback=on_progress)
    assert result.content[0].text == "slept 0.2"
    assert seen == [0, 1, 2, 3]


async def test_cancel_reaches_the_child(toy_gateway):
    async with Client(toy_gateway.url, mode="legacy") as client:
        with anyio.move_on_after(0.5):
            await client.call_tool("toy__slow", {"seconds": 30})
        # The gateway must not keep the call in flight: it is cancelled at the child too.
        await wait_for(lambda: not toy_gateway.connected._inflight.get("toy"), timeout=5)
        assert (await client.call_tool("toy__echo", {"text": "after"})).content[0].text == "after"


async def test_sampling_goes_to_the_client_whose_call_is_in_flight(toy_gateway):
    prompts: list[str] = []

    async def sampling(ctx, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        prompts.append(params.messages[0].content.text)
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text="42"), model="m")

    async with Client(toy_gateway.url, mode="legacy", sampling_callback=sampling) as client:
        result = await client.call_tool("toy__ask", {"prompt": "meaning?"})
    assert prompts == ["meaning?"]
    assert result.content[0].text == "model said: 42"


async def test_sampling_is_refused_when_two_clients_calls_are_in_flight_on_the_child(toy_gateway):
    """Over stdio a child's request carries no link to the call that caused it: with two clients' calls in
    flight, either could be asked. Refused, so one client's prompt never reaches the other."""
    asked: list[str] = []

    def sampler(who: str):
        async def sampling(ctx, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
            asked.append(who)
            content = types.TextContent(type="text", text="x")
            return types.CreateMessageResult(role="assistant", content=content, model="m")

        return sampling

    async with (
        Client(toy_gateway.url, mode="legacy", sampling_callback=sampler("a")) as a,
        Client(toy_gateway.url, mode="legacy", sampling_callback=sampler("b")) as b,
    ):
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(a.call_tool, "toy__slow", {"seconds": 3})
                await wait_for(lambda: bool(toy_gateway.connected._inflight.get("toy")))
                with pytest.raises(MCPError) as refused:  # while a's call runs
                    await b.call_tool("toy__ask", {"prompt": "whose?"})
        assert asked == []
        assert "cannot tell which of 2 clients' calls this request belongs to" in refused.value.error.message
        # One client alone is asked again as usual.
        assert (await b.call_tool("toy__ask", {"prompt": "mine"})).content[0].text == "model said: x"
        assert asked == ["b"]


async def test_roots_asked_outside_any_call_are_the_configured_ones(gateway_factory, tmp_path):
    """The filesystem server asks for roots right after it starts, before any client calls it."""
    allowed = tmp_path / "shared"
    allowed.mkdir()
    (allowed / "note.txt").write_text("hello")
    server = {"command": "node", "args": [str(NODE_MODULES / "@modelcontextprotocol/server-filesystem/dist/index.js")],
              "roots": [str(allowed)]}
    gw = await gateway_factory({"fs": server})
    await wait_for(running(gw, "fs"), timeout=60)
    async with Client(gw.url, mode="legacy") as client:
        with anyio.fail_after(60):
            while str(allowed) not in (await client.call_tool("fs__list_allowed_directories", {})).content[0].text:
                await anyio.sleep(0.1)  # it applies the roots it was given once it has them
        note = await client.call_tool("fs__read_text_file", {"path": str(allowed / "note.txt")})
        assert note.content[0].text == "hello"


async def test_child_log_messages_reach_the_calling_client(toy_gateway):
    logged: list[tuple[str, object]] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logged.append((params.level, params.data))

    async with Client(toy_gateway.url, mode="legacy", logging_callback=on_log) as client:
        for _ in range(5):  # the order held once can be luck; the answer must never overtake the log lines
            logged.clear()
            await client.call_tool("toy__chatty", {})
            assert logged == [("info", "first"), ("warning", "second")]


async def test_list_changed_reaches_connected_clients_of_both_transports(toy_gateway):
    changed = {"http": anyio.Event(), "sse": anyio.Event()}

    def handler(kind: str):
        async def on_message(message) -> None:
            if isinstance(message, types.ToolListChangedNotification):
                changed[kind].set()

        return on_message

    async with (
        Client(toy_gateway.url, mode="legacy", message_handler=handler("http")) as http_client,
        Client(sse_client(sse_url(toy_gateway)), mode="legacy", message_handler=handler("sse")) as sse_client_,
    ):
        await sse_client_.list_tools()
        await http_client.call_tool("toy__add_tool", {"name": "fresh"})
        with anyio.fail_after(10):
            await changed["http"].wait()
            await changed["sse"].wait()
        assert "toy__fresh" in {t.name for t in (await sse_client_.list_tools()).tools}
        assert (await http_client.call_tool("toy__fresh", {})).content[0].text == "called fresh"


async def test_resource_subscribe_and_updates(toy_gateway):
    updated: list[str] = []
    got = anyio.Event()

    async def on_message(message) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            updated.append(str(message.params.uri))
            got.set()

    async with Client(toy_gateway.url, mode="legacy", message_handler=on_message) as client:
        resources = await client.list_resources()
        assert [str(r.uri) for r in resources.resources] == ["toy://counter"]
        await client.session.subscribe_resource("toy://counter")
        await client.call_tool("toy__bump", {})
        with anyio.fail_after(10):
            await got.wait()
        assert updated == ["toy://counter"]
        read = await client.read_resource("toy://counter")
        assert read.contents[0].text.startswith("counter=1")
        templated = await client.read_resource("toy://items/7")
        assert templated.contents[0].text == "item 7"
        await client.session.unsubscribe_resource("toy://counter")


async def test_completion_routes_to_the_prompt_owner(toy_gateway):
    async with Client(toy_gateway.url, mode="legacy") as client:
        result = await client.complete(
            types.PromptReference(type="ref/prompt", name="toy__greet"), {"name": "who", "value": "a"}
        )
    assert result.completion.values == ["alice"]


async def test_sse_transport_serves_the_same_tools(toy_gateway):
    async with Client(sse_client(sse_url(toy_gateway)), mode="legacy") as client:
        result = await client.call_tool("toy__echo", {"text": "over sse"})
        assert result.content[0].text == "over sse"


async def test_single_server_endpoint_keeps_the_childs_own_names(toy_gateway):
    async with Client(f"{toy_gateway.base_url}/servers/toy/mcp", mode="legacy") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "echo" in names and "toy__echo" not in names
        assert (await client.call_tool("echo", {"text": "alone"})).content[0].text == "alone"
    async with Client(sse_client(sse_url(toy_gateway, "/servers/toy")), mode="legacy") as client:
        assert (await client.call_tool("echo", {"text": "alone sse"})).content[0].text == "alone sse"


async def test_modern_era_client_is_served(toy_gateway):
    async with Client(toy_gateway.url, mode="auto") as client:
        assert client.protocol_version == "2026-07-28"
        assert (await client.call_tool("toy__echo", {"text": "modern"})).content[0].text == "modern"


async def test_the_gateway_is_the_server(toy_gateway):
    async with Client(toy_gateway.url, mode="legacy") as client:
        assert client.server_info.name == "switchboard"
    async with Client(toy_gateway.url, mode="auto") as client:
        result = await client.call_tool("toy__echo", {"text": "x"})
        stamp = (result.meta or {}).get(types.SERVER_INFO_META_KEY)
        assert stamp is None or stamp.get("name") == "switchboard"


async def test_a_child_that_speaks_only_the_2026_era(gateway_factory):
    """The handshake is refused, so the supervisor falls back to server/discover; calls, list_changed
    (over subscriptions/listen) and input requests (the 2026 form of sampling) still reach the client."""
    gw = await gateway_factory({"modern": stdio_child("toy.py", "--modern-only")})
    await wait_for(running(gw, "modern"))
    assert gw.supervisors["modern"].protocol_version == "2026-07-28"
    changed = anyio.Event()

    async def on_message(message) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    async def sampling(ctx, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text="7"), model="m")

    async with Client(gw.url, mode="legacy", message_handler=on_message, sampling_callback=sampling) as client:
        assert (await client.call_tool("modern__echo", {"text": "new era"})).content[0].text == "new era"
        assert (await client.call_tool("modern__ask", {"prompt": "n?"})).content[0].text == "model said: 7"
        await client.call_tool("modern__add_tool", {"name": "later"})
        with anyio.fail_after(10):
            await changed.wait()
        assert "modern__later" in {t.name for t in (await client.list_tools()).tools}
    # A 2026-era child stamps its own server info into each result's _meta; clients see the gateway's.
    async with Client(gw.url, mode="auto") as client:
        result = await client.call_tool("modern__echo", {"text": "whose?"})
        assert result.meta[types.SERVER_INFO_META_KEY]["name"] == "switchboard"


async def test_large_results_arrive_whole_over_both_transports(toy_gateway):
    from tests.servers.toy import blob

    async with Client(toy_gateway.url, mode="legacy") as client:
        assert (await client.call_tool("toy__blob", {"kib": 4096})).content[0].text == blob(4096)
    async with Client(sse_client(sse_url(toy_gateway)), mode="legacy") as client:
        assert (await client.call_tool("toy__blob", {"kib": 300})).content[0].text == blob(300)
