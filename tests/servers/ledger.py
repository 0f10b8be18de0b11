"""An MCP stdio server for the call-policy tests: it counts every call it receives, per tool.

Its tools carry the annotations the policy reads: `lookup` is read-only, `delete_item` destructive,
`write_note` neither (it says nothing), `slow` sleeps. `counts` answers how many calls each tool got,
so a test sees exactly what reached the child. `resource` lists ledger://note, readable.

python ledger.py [--modern-only]
"""

from __future__ import annotations

import argparse
import json
import warnings
from typing import Any

import anyio
import mcp_types as t
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp_types.jsonrpc import INVALID_PARAMS, UNSUPPORTED_PROTOCOL_VERSION

warnings.simplefilter("ignore", MCPDeprecationWarning)
Ctx = ServerRequestContext[Any, Any]
opts = argparse.Namespace()
received: dict[str, int] = {}
added: list[str] = []
READ_ONLY = t.ToolAnnotations(read_only_hint=True, destructive_hint=False)
DESTRUCTIVE = t.ToolAnnotations(read_only_hint=False, destructive_hint=True)


def text(s: str) -> t.TextContent:
    return t.TextContent(type="text", text=s)


def tools() -> list[t.Tool]:
    listed = [
        t.Tool(
            name="lookup",
            description="Look up an entry in the ledger by its key",
            input_schema={"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]},
            annotations=READ_ONLY,
        ),
        t.Tool(
            name="delete_item",
            description="Delete an item from the ledger for good",
            input_schema={"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
            annotations=DESTRUCTIVE,
        ),
        t.Tool(
            name="write_note",
            description="Write a note into the ledger",
            input_schema={"type": "object", "properties": {"note": {"type": "string"}}},
        ),
        t.Tool(
            name="slow",
            description="Sleep for some seconds, then answer",
            input_schema={"type": "object", "properties": {"seconds": {"type": "number"}}},
        ),
        t.Tool(name="counts", description="How many calls each tool received", input_schema={"type": "object"}),
        t.Tool(name="add_tool", description="Add a tool and announce the change", input_schema={"type": "object"}),
    ]
    listed += [t.Tool(name=n, description="Added at run time", input_schema={"type": "object"}) for n in added]
    return listed


async def list_tools(ctx: Ctx, params: Any) -> t.ListToolsResult:
    return t.ListToolsResult(tools=tools())


async def call_tool(ctx: Ctx, params: t.CallToolRequestParams) -> t.CallToolResult:
    args = params.arguments or {}
    name = params.name
    if name == "counts":
        return t.CallToolResult(content=[text(json.dumps(received, sort_keys=True))])
    received[name] = received.get(name, 0) + 1
    if name == "lookup":
        return t.CallToolResult(content=[text(f"{args.get('key')}: call {received[name]}")])
    if name == "delete_item":
        return t.CallToolResult(content=[text(f"deleted {args.get('id')}")])
    if name == "write_note":
        return t.CallToolResult(content=[text("written")])
    if name == "slow":
        await anyio.sleep(float(args.get("seconds", 1)))
        return t.CallToolResult(content=[text("done")])
    if name == "add_tool":
        added.append(f"extra_{len(added)}")
        await ctx.session.send_tool_list_changed()
        return t.CallToolResult(content=[text("added")])
    if name in added:
        return t.CallToolResult(content=[text(f"called {name}")])
    raise MCPError(INVALID_PARAMS, f"Unknown tool: {name}")


async def list_resources(ctx: Ctx, params: Any) -> t.ListResourcesResult:
    return t.ListResourcesResult(resources=[t.Resource(uri="ledger://note", name="note", mime_type="text/plain")])


async def read_resource(ctx: Ctx, params: t.ReadResourceRequestParams) -> t.ReadResourceResult:
    received["read"] = received.get("read", 0) + 1
    body = f"read {received['read']}"
    if ctx.protocol_version >= "2026":  # a 2026-era answer says how long it stays fresh, and for whom
        return t.ReadResourceResult(
            contents=[t.TextResourceContents(uri=str(params.uri), text=body)], ttl_ms=60_000, cache_scope="public"
        )
    return t.ReadResourceResult(contents=[t.TextResourceContents(uri=str(params.uri), text=body)])


async def veto_initialize(ctx: Ctx, call_next: Any) -> Any:
    if ctx.method == "initialize":
        raise MCPError(UNSUPPORTED_PROTOCOL_VERSION, "this server speaks only 2026-07-28 (server/discover)")
    return await call_next(ctx)


async def main() -> None:
    server = Server(
        "ledger", version="1.0", on_list_tools=list_tools, on_call_tool=call_tool,
        on_list_resources=list_resources, on_read_resource=read_resource,
    )  # fmt: skip
    if opts.modern_only:
        server.middleware = [veto_initialize]
    async with stdio_server() as (read_stream, write_stream):
        from mcp.server.lowlevel.server import NotificationOptions

        options = server.create_initialization_options(NotificationOptions(tools_changed=True))
        await server.run(read_stream, write_stream, options)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--modern-only", action="store_true")
    parser.parse_args(namespace=opts)
    anyio.run(main)
