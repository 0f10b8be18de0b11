"""How to reach a child: the transports to try in order, and noticing when a connection closes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from app.config.models import ChildConfig, RemoteServer, StdioServer
from app.gateway.children.fast_lane import FastLane
from app.gateway.children.prestarted import Prestarted, matches
from app.gateway.children.stderr import StderrCapture
from app.gateway.children.stdio import ConnectionEnd, StdioParams, stdio_transport
from app.gateway.sdk.http_client import create_mcp_http_client


class _WatchedStream:
    """Delegates to a transport's read stream and sets `closed` when it ends."""

    def __init__(self, inner: Any, closed: anyio.Event) -> None:
        self._inner = inner
        self._closed = closed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._closed.set()
            raise

    def __aiter__(self) -> _WatchedStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _WatchedStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.aclose()


@asynccontextmanager
async def watch_closed(transport: Any, closed: anyio.Event) -> AsyncIterator[tuple[Any, Any]]:
    """The transport's streams, with `closed` set once the read side ends (the peer went away)."""
    try:
        async with transport as (read_stream, write_stream):
            yield _WatchedStream(read_stream, closed), write_stream
    finally:
        closed.set()


def transport_attempts(
    config: ChildConfig,
    stderr: StderrCapture,
    max_line: int,
    end: ConnectionEnd,
    name: str,
    lane: FastLane,
    *,
    auth: httpx2.Auth | None = None,
    prestarted: Prestarted | None = None,
) -> list[tuple[Callable[[], Any], str]]:
    """The ways to reach a child, in the order to try them: (transport factory, the SDK Client's mode).

    The handshake era first, then the SDK's auto mode (server/discover) for a child that speaks only
    the 2026 era; a remote child without a configured transport: Streamable HTTP, then legacy SSE.
    `auth`: a remote child's OAuth (its own, never another child's); its requests carry only that and
    the entry's configured headers, nothing of the client whose call is relayed. `prestarted`: the stdio
    server already spawned for this entry (app/prestart.py), taken by the first attempt if it matches.
    """
    if isinstance(config, StdioServer):
        params = StdioParams(config.command, config.args, config.env, config.cwd)

        early = [prestarted]

        def stdio() -> Any:
            candidate, early[0] = early[0], None
            if candidate is not None and matches(candidate, params):
                stderr.adopt_pipe(candidate.stderr)
                return stdio_transport(
                    params, server=name, errlog=None, max_line=max_line, end=end, lane=lane, prestarted=candidate
                )
            if candidate is not None:
                candidate.discard()  # not what this entry would start: it must not run on beside it
            return stdio_transport(
                params, server=name, errlog=stderr.open_pipe(), max_line=max_line, end=end, lane=lane
            )

        return [(stdio, "legacy"), (stdio, "auto")]

    def streamable() -> Any:
        return _streamable(config, auth)

    def sse() -> Any:
        return sse_client(config.url, headers=config.headers or None, auth=auth)

    if config.transport == "sse":
        return [(sse, "legacy")]
    if config.transport == "streamable-http":
        return [(streamable, "legacy"), (streamable, "auto")]
    return [(streamable, "legacy"), (streamable, "auto"), (sse, "legacy")]


@asynccontextmanager
async def _streamable(config: RemoteServer, auth: httpx2.Auth | None) -> AsyncIterator[Any]:
    async with (
        create_mcp_http_client(headers=config.headers or None, auth=auth) as http,
        streamable_http_client(config.url, http_client=http) as streams,
    ):
        yield streams
