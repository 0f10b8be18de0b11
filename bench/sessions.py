"""Cheap MCP client sessions for the load generator: Streamable HTTP (both eras), legacy SSE, and stdio.

Each speaks just enough JSON-RPC to open a session and make `tools/call` requests, with orjson
and the raw HTTP client in `wire`, so the client's own cost stays small next to the server's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
from collections.abc import Iterator, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson

from bench.wire import Connection, HTTPError, SSEParser, sse_events

HANDSHAKE_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"
CLIENT_INFO = {"name": "switchboard-bench", "version": "1"}
# The 2026-07-28 per-request envelope, as the SDK's client stamps it (mcp/client/session.py).
META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
ACCEPT_BOTH = "application/json, text/event-stream"


class CallError(Exception):
    pass


class Session(Protocol):
    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]: ...
    async def close(self) -> None: ...


def _rpc_result(message: dict[str, Any]) -> dict[str, Any]:
    if "error" in message:
        error = message["error"]
        raise CallError(f"JSON-RPC error {error.get('code')}: {error.get('message')}")
    return message["result"]


def _error_text(body: bytes) -> str:
    """A refusal's own message when it is a JSON-RPC error, else the start of the body."""
    try:
        return str(orjson.loads(body)["error"]["message"])[:200]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace")


def _split(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None, url
    return parts.hostname, parts.port, parts.path or "/"


class StreamableSession:
    """Streamable HTTP on one keep-alive connection.

    era "handshake": initialize + notifications/initialized, then calls with Mcp-Session-Id.
    era "modern": no handshake; every call carries the 2026-07-28 `_meta` envelope and headers.
    """

    def __init__(self, url: str, *, era: str = "handshake", key: str | None = None) -> None:
        host, port, self.path = _split(url)
        self.conn = Connection(host, port)
        self.era = era
        self.version = MODERN_VERSION if era == "modern" else HANDSHAKE_VERSION
        self.session_id: str | None = None
        self._ids = itertools.count(1)
        self._headers = {"content-type": "application/json", "accept": ACCEPT_BOTH}
        if key:
            self._headers["authorization"] = f"Bearer {key}"

    async def open(self) -> StreamableSession:
        await self.conn.open()
        if self.era == "modern":
            return self
        init = {"protocolVersion": self.version, "capabilities": {}, "clientInfo": CLIENT_INFO}
        response = await self._post({"jsonrpc": "2.0", "id": next(self._ids), "method": "initialize", "params": init})
        self.session_id = response.headers.get("mcp-session-id")
        self._parse(response, 1)
        self._headers["mcp-protocol-version"] = self.version
        if self.session_id:
            self._headers["mcp-session-id"] = self.session_id
        note = await self._post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        if note.status not in (200, 202):
            raise CallError(f"notifications/initialized: HTTP {note.status}")
        return self

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        request_id = next(self._ids)
        params: dict[str, Any] = {"name": name, "arguments": arguments}
        headers = None
        if self.era == "modern":
            params["_meta"] = {META_VERSION: self.version, META_CLIENT_INFO: CLIENT_INFO, META_CAPABILITIES: {}}
            headers = {"mcp-protocol-version": self.version, "mcp-method": "tools/call", "mcp-name": name}
        body = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
        return self._parse(await self._post(body, headers), request_id)

    async def _post(self, body: dict[str, Any], extra: dict[str, str] | None = None) -> Any:
        headers = {**self._headers, **extra} if extra else self._headers
        return await self.conn.request("POST", self.path, headers, orjson.dumps(body))

    def _parse(self, response: Any, request_id: int) -> dict[str, Any]:
        if response.status != 200:
            raise CallError(f"HTTP {response.status}: {_error_text(response.body)}")
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            for _, data in sse_events(response.body):
                message = orjson.loads(data)
                if message.get("id") == request_id:
                    return _rpc_result(message)
            raise CallError("no response event in the SSE stream")
        return _rpc_result(orjson.loads(response.body))

    async def close(self) -> None:
        if self.session_id:
            with contextlib.suppress(HTTPError, OSError, asyncio.IncompleteReadError):
                await self.conn.request("DELETE", self.path, self._headers)
        await self.conn.close()


# Request ids unique across every multiplexed session of the process. A gateway that relays every
# SSE session to one shared child without renumbering ids (supergateway does, and sends every answer
# to every session) would otherwise hand one client another's answer; see `answers_reach_their_caller`.
_PROCESS_IDS = itertools.count(1)


class _Multiplexed:
    """Requests matched to responses by id, read off one stream by a background task."""

    def __init__(self, ids: Iterator[int] | None = None) -> None:
        self._ids = ids if ids is not None else _PROCESS_IDS
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    def _deliver(self, message: dict[str, Any]) -> None:
        future = self._waiting.pop(message.get("id"), None)  # type: ignore[arg-type]
        if future is not None and not future.done():
            future.set_result(message)

    def _fail_all(self, exc: BaseException) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(CallError(f"stream ended: {exc!r}"))
        self._waiting.clear()

    async def _send(self, message: dict[str, Any]) -> None:
        raise NotImplementedError

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        await self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return _rpc_result(await future)

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return await self.request("tools/call", {"name": name, "arguments": arguments})

    async def _handshake(self) -> None:
        init = {"protocolVersion": HANDSHAKE_VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO}
        await self.request("initialize", init)
        await self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})


class SseSession(_Multiplexed):
    """Legacy HTTP+SSE: GET /sse for the stream and the endpoint event, POST /messages/?session_id=..."""

    def __init__(self, url: str, *, key: str | None = None, ids: Iterator[int] | None = None) -> None:
        super().__init__(ids)
        host, port, self.path = _split(url)
        self.stream_conn = Connection(host, port)
        self.post_conn = Connection(host, port)
        self._headers = {"content-type": "application/json"}
        if key:
            self._headers["authorization"] = f"Bearer {key}"
        self._endpoint: asyncio.Future[str] | None = None

    async def open(self, *, handshake: bool = True) -> SseSession:
        """GET the stream and wait for its endpoint; then initialize, unless `handshake` is False (a held stream)."""
        headers = {"accept": "text/event-stream", **{k: v for k, v in self._headers.items() if k != "content-type"}}
        status, _, body = await self.stream_conn.stream(self.path, headers)
        if status != 200:
            raise CallError(f"GET {self.path}: HTTP {status}")
        self._endpoint = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(body))
        self.messages_path = await asyncio.wait_for(self._endpoint, 10)
        if handshake:
            await self.post_conn.open()
            await self._handshake()
        return self

    async def _read(self, body: Any) -> None:
        parser = SSEParser()
        try:
            async for piece in body:
                for event, data in parser.feed(piece):
                    if event == "endpoint":
                        assert self._endpoint is not None
                        self._endpoint.set_result(data)
                    elif event == "message":
                        self._deliver(orjson.loads(data))
            self._fail_all(EOFError("the SSE stream closed"))
        except Exception as exc:
            self._fail_all(exc)

    async def _send(self, message: dict[str, Any]) -> None:
        response = await self.post_conn.request("POST", self.messages_path, self._headers, orjson.dumps(message))
        if response.status not in (200, 202):
            raise CallError(f"POST {self.messages_path}: HTTP {response.status}")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self.post_conn.close()
        await self.stream_conn.close()


class StdioSession(_Multiplexed):
    """The direct baseline: the child's stdio, newline-delimited JSON-RPC, any number of calls in flight."""

    def __init__(self, argv: Sequence[str], *, cwd: str | None = None) -> None:
        super().__init__()
        self.argv = list(argv)
        self.cwd = cwd
        self.process: asyncio.subprocess.Process | None = None

    async def open(self) -> StdioSession:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=self.cwd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=sys.stderr,
            limit=64 * 1024 * 1024,
        )
        self._reader = asyncio.create_task(self._read())
        await self._handshake()
        return self

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        try:
            while line := await self.process.stdout.readline():
                self._deliver(orjson.loads(line))
            self._fail_all(EOFError("the child closed its stdout"))
        except Exception as exc:
            self._fail_all(exc)

    async def _send(self, message: dict[str, Any]) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(orjson.dumps(message) + b"\n")
        await self.process.stdin.drain()

    async def close(self) -> None:
        if self.process is None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 3)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            self._reader.cancel()
