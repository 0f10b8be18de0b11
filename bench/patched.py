"""Run `switchboard` with proposed hot-path changes applied in-process, to measure them before they land.

    python -m bench.patched PATCH[,PATCH...] serve --config PATH --port 0

Nothing in the app imports this; `python -m bench --patch ...` uses it for before/after numbers.
(uvloop is already on for `switchboard serve`; the patch matters for the tray's loop experiments.)
"""

from __future__ import annotations

import sys
from collections.abc import Callable


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


# nodelay, json, stdio_lines and sse_encode measured here first; they are in the app now
# (runtime.bind_socket, streamable.py, sdk_fixes.py), so they are no longer patches.
PATCHES: dict[str, Callable[[], None]] = {
    "uvloop": uvloop,
    "gc": gc,
    "no_fast_lane": no_fast_lane,
}


def main(argv: list[str]) -> int:
    names, *rest = argv
    for name in filter(None, names.split(",")):
        PATCHES[name]()
    from app.cli import main as app_main

    return app_main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
