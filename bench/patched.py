"""Run `switchboard` with proposed hot-path changes applied in-process, to measure them before they land.

    python -m bench.patched PATCH[,PATCH...] serve --config PATH --port 0

Nothing in the app imports this; `python -m bench --patch ...` uses it for before/after numbers.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable


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


PATCHES: dict[str, Callable[[], None]] = {"nodelay": nodelay}


def main(argv: list[str]) -> int:
    names, *rest = argv
    for name in filter(None, names.split(",")):
        PATCHES[name]()
    from app.cli import main as app_main

    return app_main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
