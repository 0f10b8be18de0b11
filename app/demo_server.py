"""The demo child that ships inside Switchboard (`switchboard demo-server`, stdio).

It gives a fresh install something real to serve with no network: a few tools, one resource,
one prompt. It is an ordinary MCP server; the gateway supervises it like any other child.
"""

from __future__ import annotations

import datetime as dt
import platform

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

# None of the demo's tools changes anything: said, so call policies and the cache treat them as such.
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)


def build() -> MCPServer:
    server = MCPServer("switchboard-demo", instructions="A small demo server bundled with Switchboard.")

    @server.tool(description="Echo the given text back unchanged.", annotations=READ_ONLY)
    def echo(text: str) -> str:
        return text

    @server.tool(
        description="The current date and time, in ISO 8601, in UTC or the machine's local time zone.",
        annotations=READ_ONLY,
    )
    def current_time(utc: bool = True) -> str:
        now = dt.datetime.now(dt.UTC) if utc else dt.datetime.now().astimezone()
        return now.isoformat(timespec="seconds")

    @server.tool(description="Add two numbers.", annotations=READ_ONLY)
    def add(a: float, b: float) -> float:
        return a + b

    @server.resource("demo://about", name="about", description="What this demo server is", mime_type="text/plain")
    def about() -> str:
        return (
            "This is Switchboard's demo MCP server, running as a child of the gateway on "
            f"{platform.system()} with Python {platform.python_version()}. "
            "Add your own servers to the mcpServers block of the config file."
        )

    @server.prompt(description="Ask for a short summary of a text.")
    def summarize(text: str) -> str:
        return f"Summarize the following text in three sentences:\n\n{text}"

    return server


def main() -> int:
    build().run("stdio")
    return 0
