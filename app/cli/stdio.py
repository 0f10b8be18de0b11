"""`switchboard stdio`: the bridge a stdio-only client (Claude Desktop) runs to reach the gateway."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from typing import Any


def add_parsers(sub: Any, config_arg: Any) -> None:
    stdio = sub.add_parser(
        "stdio",
        help="bridge an MCP client on stdin/stdout to the running gateway (what Claude Desktop runs)",
        description="Speaks MCP on stdin/stdout and relays everything to the running gateway, starting it "
        "when none runs. The key is read from the keyring or the key file, never from the client's config.",
    )
    config_arg(stdio)
    stdio.add_argument("--server", metavar="NAME", help="bridge one server's own endpoint instead of all of them")
    stdio.add_argument("--key-name", metavar="NAME", help="use a kept per-client key (`keys add NAME --keep`)")
    stdio.set_defaults(func=cmd_stdio)


def cmd_stdio(args: argparse.Namespace) -> int:
    import anyio

    from app.bridge.locate import BridgeError, endpoint, gateway_url, key_for
    from app.bridge.relay import Bridge, serve_stdio

    # stderr only, one line each: Claude Desktop shows it in its MCP log. stdout is the protocol's.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("switchboard stdio: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    config = getattr(args, "config", None)
    try:
        key = key_for(config, args.key_name)
    except BridgeError as exc:
        print(f"switchboard stdio: {exc}", file=sys.stderr)
        return 2
    stdout = anyio.wrap_file(sys.stdout.buffer)

    async def write(line: bytes) -> None:
        await stdout.write(line)
        await stdout.flush()

    def locate(start: bool) -> str:
        return endpoint(gateway_url(config, start=start), args.server)

    async def main() -> None:
        await serve_stdio(Bridge(locate, key, write))

    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(main, backend_options={"use_uvloop": sys.platform != "win32"})
    return 0
