"""Run `switchboard` with proposed hot-path changes applied in-process, to measure them before they land.

    python -m bench.patched PATCH[,PATCH...] serve --config PATH --port 0

Nothing in the app imports this; `python -m bench --patch ...` uses it for before/after numbers.
(uvloop is already on for `switchboard serve`; the patch matters for the tray's loop experiments.)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def uvloop() -> None:
    """The headless gateway on uvloop (the tray keeps qasync): a cheaper event loop and socket layer."""
    import asyncio

    import uvloop as _uvloop

    asyncio.set_event_loop_policy(_uvloop.EventLoopPolicy())


def gc() -> None:
    """Fewer young-generation collections: the relay allocates many short-lived objects per call."""
    import gc as _gc

    _gc.set_threshold(50_000, 20, 100)


def no_fast_lane() -> None:
    """Every relayed call on the SDK's client path, as before app/gateway/children/fast_lane.py."""
    from app.gateway.children.fast_lane import FastLane

    FastLane.open = property(lambda self: False)  # type: ignore[method-assign,assignment]


def no_server_lane() -> None:
    """Every call on the SDK's server session, as before app/gateway/http/fast_calls.py."""
    from app.gateway.http.fast_calls import FastCalls

    init = FastCalls.__init__

    def off(self: FastCalls, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.on = False

    FastCalls.__init__ = off  # type: ignore[method-assign]


def no_schema_lookup() -> None:
    """The 2026 era's Mcp-Param header check finds each tool's schema with a whole tools/list, as the SDK does
    when the server gives it no lookup (before Router.input_schema)."""
    from mcp.server import Server

    init = Server.__init__

    def without_lookup(self: Server, *args: object, **kwargs: object) -> None:  # type: ignore[type-arg]
        kwargs.pop("get_tool_input_schema", None)
        init(self, *args, **kwargs)  # type: ignore[arg-type]

    Server.__init__ = without_lookup  # type: ignore[method-assign]


# nodelay, json, stdio_lines and sse_encode measured here first; they are in the app now
# (runtime.bind_socket, streamable.py, sdk_fixes.py), so they are no longer patches.
PATCHES: dict[str, Callable[[], None]] = {
    "uvloop": uvloop,
    "gc": gc,
    "no_fast_lane": no_fast_lane,
    "no_server_lane": no_server_lane,
    "no_schema_lookup": no_schema_lookup,
}


def main(argv: list[str]) -> int:
    names, *rest = argv
    for name in filter(None, names.split(",")):
        PATCHES[name]()
    from app.cli import main as app_main

    return app_main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
