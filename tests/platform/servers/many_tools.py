"""An MCP stdio server with N tools (`python many_tools.py N`): enough to go past a client's tool cap."""

from __future__ import annotations

import sys
import warnings
from typing import Any

import anyio
import mcp_types as t
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPDeprecationWarning

warnings.simplefilter("ignore", MCPDeprecationWarning)
COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 45
TOOLS = [t.Tool(name=f"tool_{i:02d}", description=f"Tool number {i}", input_schema={"type": "object"})
         for i in range(COUNT)]


async def list_tools(ctx: ServerRequestContext[Any, Any], params: Any) -> t.ListToolsResult:
    return t.ListToolsResult(tools=TOOLS)


async def call_tool(ctx: ServerRequestContext[Any, Any], params: t.CallToolRequestParams) -> t.CallToolResult:
    return t.CallToolResult(content=[t.TextContent(type="text", text=params.name)])


async def main() -> None:
    server = Server("many", version="1.0", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
