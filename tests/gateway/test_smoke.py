import pytest
from mcp import Client

from tests.conftest import demo_child, running, wait_for

pytestmark = pytest.mark.anyio


async def test_demo_through_gateway(gateway_factory):
    gw = await gateway_factory({"demo": demo_child()})
    await wait_for(running(gw, "demo"))
    async with Client(gw.url, mode="legacy") as client:
        tools = await client.list_tools()
        assert {t.name for t in tools.tools} >= {"demo__echo", "demo__current_time", "demo__add"}
        result = await client.call_tool("demo__echo", {"text": "hello"})
        assert result.content[0].text == "hello"
