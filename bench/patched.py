"""Run `switchboard` with proposed hot-path changes applied in-process, to measure them before they land.

    python -m bench.patched PATCH[,PATCH...] serve --config PATH --port 0

Nothing in the app imports this; `python -m bench --patch ...` uses it for before/after numbers.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from typing import Any


def nodelay() -> None:
    """Listen on an IPPROTO_TCP socket, so asyncio sets TCP_NODELAY on every accepted connection.

    A socket made as socket(AF_INET, SOCK_STREAM) has proto 0; asyncio's accept path only sets
    TCP_NODELAY when proto == IPPROTO_TCP, so responses written in two parts (head, then body)
    wait for the client's delayed ACK: about 40 ms per call on Linux.
    """
    from app.gateway import runtime

    def bind_socket(host: str, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.setblocking(False)
        return sock

    runtime.bind_socket = bind_socket


def json() -> None:
    """Answer handshake-era POSTs with one plain JSON body instead of a one-event SSE stream.

    Trade-off: with json_response the SDK cannot stream progress, log messages or a child's
    sampling/elicitation requests back during that call; measured here for its cost alone.
    """
    from app.gateway import http

    original = http.StreamableHTTPSessionManager

    def manager(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **{**kwargs, "json_response": True})

    http.StreamableHTTPSessionManager = manager  # type: ignore[misc]


def uvloop() -> None:
    """The headless gateway on uvloop (the tray keeps qasync): a cheaper event loop and socket layer."""
    import asyncio

    import uvloop as _uvloop

    asyncio.set_event_loop_policy(_uvloop.EventLoopPolicy())


def gc() -> None:
    """Fewer young-generation collections: the relay allocates many short-lived objects per call."""
    import gc as _gc

    _gc.set_threshold(50_000, 20, 100)


class _LineSplit:
    """A stand-in for sse_starlette's line-separator regex that skips the scan when there is nothing to split.

    Serialized JSON-RPC has no raw line breaks (JSON escapes them), so a str.find in C replaces a
    regex pass over the whole payload: about 1 ms per 256 KiB result on the SSE path.
    """

    def __init__(self, expr: Any) -> None:
        self.expr = expr

    def split(self, text: str) -> list[str]:
        return self.expr.split(text) if "\n" in text or "\r" in text else [text]

    def sub(self, replacement: str, text: str) -> str:
        return self.expr.sub(replacement, text) if "\n" in text or "\r" in text else text


def sse_encode() -> None:
    """Skip sse_starlette's regex split of every event's data when it holds no line break."""
    from sse_starlette.event import ServerSentEvent

    ServerSentEvent._LINE_SEP_EXPR = _LineSplit(ServerSentEvent._LINE_SEP_EXPR)  # type: ignore[assignment]


def stdio_lines() -> None:
    """Hand the SDK's stdio reader whole lines, so a large result is not re-copied chunk after chunk.

    mcp.client.stdio's reader does `(buffer + chunk).split("\\n")` for every pipe read (64 KiB at
    most): a result of n chunks costs O(n²) copying and scanning. Reading on until a chunk holds a
    line break, then joining once, makes it linear.
    """
    from anyio import EndOfStream
    from anyio.streams.text import TextReceiveStream
    from mcp.client import stdio

    class LineTextReceiveStream(TextReceiveStream):
        async def receive(self) -> str:
            parts: list[str] = []
            while True:
                try:
                    text = await super().receive()
                except EndOfStream:
                    if parts:
                        return "".join(parts)
                    raise
                parts.append(text)
                if "\n" in text:
                    return "".join(parts) if len(parts) > 1 else text

    stdio.TextReceiveStream = LineTextReceiveStream  # type: ignore[misc]


PATCHES: dict[str, Callable[[], None]] = {
    "stdio_lines": stdio_lines,
    "nodelay": nodelay,
    "json": json,
    "uvloop": uvloop,
    "gc": gc,
    "sse_encode": sse_encode,
}


def main(argv: list[str]) -> int:
    names, *rest = argv
    for name in filter(None, names.split(",")):
        PATCHES[name]()
    from app.cli import main as app_main

    return app_main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
