"""A small MCP stdio server for the gateway's tests: every behaviour a test needs to provoke.

python toy.py [--exit-at-start] [--uri URI] [--long-names]
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Any

import anyio
import mcp_types as t
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.shared.subscriptions import ToolsListChanged
from mcp_types.jsonrpc import INVALID_PARAMS, UNSUPPORTED_PROTOCOL_VERSION

warnings.simplefilter("ignore", MCPDeprecationWarning)
Ctx = ServerRequestContext[Any, Any]

opts = argparse.Namespace()
extra_tools: list[str] = []
counter = {"value": 0}
listen_bus = InMemorySubscriptionBus()
OBJ = {"type": "object", "properties": {}}


def text(s: str) -> t.TextContent:
    return t.TextContent(type="text", text=s)


def blob(kib: int) -> str:
    line = "0123456789abcdef" * 4 + "\n"  # 65 bytes with a line break JSON must escape
    return (line * (kib * 1024 // len(line) + 1))[: kib * 1024]


def tools() -> list[t.Tool]:
    listed = [
        t.Tool(
            name="echo",
            description="Echo text",
            input_schema={"type": "object", "properties": {"text": {"type": "string"}}},
        ),
        t.Tool(
            name="slow",
            description="Sleep, reporting progress",
            input_schema={"type": "object", "properties": {"seconds": {"type": "number"}}},
        ),
        t.Tool(name="pid", description="This process id", input_schema=OBJ),
        t.Tool(name="crash", description="Exit at once, mid-call", input_schema=OBJ),
        t.Tool(
            name="add_tool",
            description="Add a tool and say so",
            input_schema={"type": "object", "properties": {"name": {"type": "string"}}},
        ),
        t.Tool(
            name="ask",
            description="Sampling round trip",
            input_schema={"type": "object", "properties": {"prompt": {"type": "string"}}},
        ),
        t.Tool(name="chatty", description="Logs twice, then answers", input_schema=OBJ),
        t.Tool(name="bump", description="Change the counter resource", input_schema=OBJ),
        t.Tool(
            name="stderr",
            description="Write a line to stderr",
            input_schema={"type": "object", "properties": {"line": {"type": "string"}}},
        ),
        t.Tool(name="fails", description="A tool-level error", input_schema=OBJ),
        t.Tool(
            name="blob",
            description="N KiB of text",
            input_schema={"type": "object", "properties": {"kib": {"type": "integer"}}},
        ),
    ]
    if opts.long_names:
        listed.append(t.Tool(name="a.tool.with.dots and spaces", description="Needs sanitizing", input_schema=OBJ))
        listed.append(t.Tool(name="x" * 80, description="Too long", input_schema=OBJ))
    listed += [t.Tool(name=n, description="Added at run time", input_schema=OBJ) for n in extra_tools]
    return listed


async def list_tools(ctx: Ctx, params: Any) -> t.ListToolsResult:
    return t.ListToolsResult(tools=tools())


async def call_tool(ctx: Ctx, params: t.CallToolRequestParams) -> t.CallToolResult:
    args = params.arguments or {}
    name = params.name
    if name == "echo":
        return t.CallToolResult(content=[text(str(args.get("text", "")))])
    if name == "slow":
        seconds = float(args.get("seconds", 1))
        steps = 4
        for i in range(steps):
            await ctx.session.report_progress(i, steps, f"step {i}")
            await anyio.sleep(seconds / steps)
        return t.CallToolResult(content=[text(f"slept {seconds}")])
    if name == "pid":
        return t.CallToolResult(content=[text(str(os.getpid()))])
    if name == "crash":
        os._exit(3)
    if name == "add_tool":
        extra_tools.append(str(args.get("name", "added")))
        if modern(ctx):
            await listen_bus.publish(ToolsListChanged())
        else:
            await ctx.session.send_tool_list_changed()
        return t.CallToolResult(content=[text("added")])
    if name == "ask" and modern(ctx):  # the 2026 way: ask for input in the result, get it on the retry
        answer = (params.input_responses or {}).get("q")
        if answer is None:
            question = t.CreateMessageRequest(
                params=t.CreateMessageRequestParams(
                    messages=[t.SamplingMessage(role="user", content=text(str(args.get("prompt", ""))))], max_tokens=10
                )
            )
            return t.InputRequiredResult(input_requests={"q": question}, request_state="asked")
        return t.CallToolResult(content=[text(f"model said: {answer.content.text}")])
    if name == "ask":
        reply = await ctx.session.create_message(
            [t.SamplingMessage(role="user", content=text(str(args.get("prompt", ""))))],
            max_tokens=10,
            related_request_id=ctx.request_id,
        )
        return t.CallToolResult(content=[text(f"model said: {reply.content.text}")])
    if name == "chatty":
        await ctx.session.send_log_message("info", "first", logger="toy", related_request_id=ctx.request_id)
        await ctx.session.send_log_message("warning", "second", logger="toy", related_request_id=ctx.request_id)
        return t.CallToolResult(content=[text("chatted")])
    if name == "bump":
        counter["value"] += 1
        await ctx.session.send_resource_updated(opts.uri)
        return t.CallToolResult(content=[text(str(counter["value"]))])
    if name == "stderr":
        print(args.get("line", ""), file=sys.stderr, flush=True)
        return t.CallToolResult(content=[text("written")])
    if name == "blob":
        return t.CallToolResult(content=[text(blob(int(args.get("kib", 1))))])
    if name == "fails":
        return t.CallToolResult(content=[text("it failed")], is_error=True)
    if name in extra_tools or (opts.long_names and name in {tl.name for tl in tools()}):
        return t.CallToolResult(content=[text(f"called {name}")])
    raise MCPError(INVALID_PARAMS, f"Unknown tool: {name}")


def modern(ctx: Ctx) -> bool:
    return ctx.protocol_version >= "2026"


async def veto_initialize(ctx: Ctx, call_next: Any) -> Any:
    """--modern-only: refuse the handshake era, as a server that speaks only 2026-07-28 would."""
    if ctx.method == "initialize":
        raise MCPError(UNSUPPORTED_PROTOCOL_VERSION, "this server speaks only 2026-07-28 (server/discover)")
    return await call_next(ctx)


async def list_resources(ctx: Ctx, params: Any) -> t.ListResourcesResult:
    return t.ListResourcesResult(resources=[t.Resource(uri=opts.uri, name="counter", mime_type="text/plain")])


async def list_templates(ctx: Ctx, params: Any) -> t.ListResourceTemplatesResult:
    return t.ListResourceTemplatesResult(
        resource_templates=[t.ResourceTemplate(uri_template="toy://items/{id}", name="item")]
    )


async def read_resource(ctx: Ctx, params: t.ReadResourceRequestParams) -> t.ReadResourceResult:
    uri = str(params.uri)
    if uri == opts.uri:
        body = f"counter={counter['value']}"
    elif uri.startswith("toy://items/"):
        body = f"item {uri.removeprefix('toy://items/')}"
    else:
        raise MCPError(INVALID_PARAMS, f"Resource not found: {uri}")
    return t.ReadResourceResult(contents=[t.TextResourceContents(uri=uri, mime_type="text/plain", text=body)])


async def subscribe(ctx: Ctx, params: Any) -> t.EmptyResult:
    return t.EmptyResult()


async def list_prompts(ctx: Ctx, params: Any) -> t.ListPromptsResult:
    return t.ListPromptsResult(
        prompts=[
            t.Prompt(name="greet", description="Greet someone", arguments=[t.PromptArgument(name="who", required=True)])
        ]
    )


async def get_prompt(ctx: Ctx, params: t.GetPromptRequestParams) -> t.GetPromptResult:
    if params.name != "greet":
        raise MCPError(INVALID_PARAMS, f"Unknown prompt: {params.name}")
    who = (params.arguments or {}).get("who", "you")
    return t.GetPromptResult(messages=[t.PromptMessage(role="user", content=text(f"Say hello to {who}"))])


async def complete(ctx: Ctx, params: t.CompleteRequestParams) -> t.CompleteResult:
    values = [v for v in ["alice", "bob", "carol"] if v.startswith(params.argument.value)]
    return t.CompleteResult(completion=t.Completion(values=values, total=len(values), has_more=False))


async def main() -> None:
    server = Server(
        "toy",
        version="1.0",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_subscribe_resource=subscribe,
        on_unsubscribe_resource=subscribe,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_completion=complete,
        on_subscriptions_listen=ListenHandler(listen_bus),
    )
    if opts.modern_only:
        server.middleware = [veto_initialize]
    async with stdio_server() as (read_stream, write_stream):
        from mcp.server.lowlevel.server import NotificationOptions

        options = server.create_initialization_options(NotificationOptions(tools_changed=True))
        await server.run(read_stream, write_stream, options)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--exit-at-start", action="store_true")
    parser.add_argument("--uri", default="toy://counter")
    parser.add_argument("--long-names", action="store_true")
    parser.add_argument("--modern-only", action="store_true")
    parser.parse_args(namespace=opts)
    print(f"toy server starting, pid {os.getpid()}", file=sys.stderr, flush=True)
    if opts.exit_at_start:
        print("toy: refusing to start (--exit-at-start)", file=sys.stderr, flush=True)
        sys.exit(7)
    anyio.run(main)
