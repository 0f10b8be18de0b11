"""A stdio MCP server with one tool, `meta`, that answers with the `_meta` its request carried (as JSON text):
how the tests see what the gateway forwards to a child (the client's W3C trace context, for one)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import anyio
import mcp_types as t
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPDeprecationWarning

warnings.simplefilter("ignore", MCPDeprecationWarning)
Ctx = ServerRequestContext[Any, Any]


async def list_tools(ctx: Ctx, params: Any) -> t.ListToolsResult:
    tool = t.Tool(name="meta", description="The _meta this request carried", input_schema={"type": "object"})
    return t.ListToolsResult(tools=[tool])


async def call_tool(ctx: Ctx, params: t.CallToolRequestParams) -> t.CallToolResult:
    meta = params.model_dump(by_alias=True, mode="json", exclude_none=True).get("_meta") or {}
    return t.CallToolResult(content=[t.TextContent(type="text", text=json.dumps(meta))])


async def main() -> None:
    server = Server("meta-echo", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
