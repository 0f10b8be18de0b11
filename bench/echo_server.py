"""The benchmark's child: a small, fast MCP stdio server on the SDK's low-level `Server`.

`echo(text)` returns the text; `blob(kib)` returns a text of that many KiB. Handlers return raw
dicts, so the child adds as little of its own cost as the SDK allows. The same server is the
direct-stdio baseline and the gateway's child.
"""

from __future__ import annotations

from typing import Any

import anyio
from mcp.server import Server
from mcp.server.stdio import stdio_server

from bench.blob import blob_text

MAX_KIB = 64 * 1024  # room for bench.bigresult's 50 MiB result

TOOLS = [
    {
        "name": "echo",
        "description": "Return the given text unchanged.",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    },
    {
        "name": "blob",
        "description": "Return a text of `kib` KiB.",
        "inputSchema": {"type": "object", "properties": {"kib": {"type": "integer"}}, "required": ["kib"]},
    },
]


# The 2026-07-28 era requires these on results (a peer may speak it to the child directly); the
# handshake era's schema drops them, so one dict serves both.
MODERN_LIST = {"resultType": "complete", "ttlMs": 0, "cacheScope": "private"}


async def list_tools(ctx: Any, params: Any) -> dict[str, Any]:
    return {"tools": TOOLS, **MODERN_LIST}


async def call_tool(ctx: Any, params: Any) -> dict[str, Any]:
    args = params.arguments or {}
    if params.name == "echo":
        text = str(args.get("text", ""))
    elif params.name == "blob":
        text = blob_text(max(0, min(int(args.get("kib", 0)), MAX_KIB)))
    else:
        return {"content": [{"type": "text", "text": f"unknown tool {params.name}"}], "isError": True}
    return {"content": [{"type": "text", "text": text}], "resultType": "complete"}


def build() -> Server[Any]:
    server: Server[Any] = Server("bench-echo", version="1", on_list_tools=list_tools, on_call_tool=call_tool)
    server.middleware = []  # no per-message tracing span: the child should cost as little as possible
    return server


async def serve() -> None:
    server = build()
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(serve)
