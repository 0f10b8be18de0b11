"""`switchboard stdio`: one stdio MCP client bridged to the running gateway's Streamable HTTP endpoint.

A message pump, not a second MCP implementation: every JSON-RPC message from the client (requests,
notifications, its answers to the gateway's sampling/elicitation/roots requests) is POSTed as it is;
whatever the gateway answers — a JSON result, or an SSE stream of progress, log lines, server-to-client
requests and the result — goes to stdout as it is, and so does the session's GET stream (list_changed).
Ids are the client's own: one client per bridge.

The gateway may restart under it (an upgrade, `switchboard restart`, a crash): the bridge finds it again,
re-initializes with the client's own `initialize`, reopens the GET stream and tells the client its lists
changed. A call in flight at that moment gets an error saying so; the next one works.

stdout carries protocol only; stderr one-line diagnostics (Claude Desktop shows them in its MCP log).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx2
import orjson
from mcp.shared.inbound import NAME_BEARING_METHODS, encode_header_value

from app.bridge.locate import BridgeError

log = logging.getLogger(__name__)
ACCEPT = "application/json, text/event-stream"
PROTOCOL_KEY = "io.modelcontextprotocol/protocolVersion"
RECONNECT_TRIES = 3
LIST_CHANGES = ("notifications/tools/list_changed", "notifications/prompts/list_changed",
                "notifications/resources/list_changed")


class GatewayGone(Exception):
    """The gateway did not take the message: `unreachable` (it never arrived: safe to send again),
    `session` (the gateway no longer knows this session: it never ran), `lost` (the connection broke
    mid-answer: it may have run)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class BridgeUnavailable(Exception):
    """A request cannot be relayed now: the sentence is the client's error."""


class KeyRefused(Exception):
    """The gateway refused the bridge's key (rotated or revoked): said to the client, not retried."""


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


async def sse_messages(response: httpx2.Response) -> AsyncIterator[dict[str, Any]]:
    """The JSON-RPC messages in an SSE response, one per event."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                payload = "\n".join(data)
                data = []
                try:
                    yield orjson.loads(payload)
                except orjson.JSONDecodeError:
                    log.warning("the gateway sent an event that is not JSON; skipped")
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


class Bridge:
    def __init__(self, locate: Callable[[bool], str], key: str, write: Callable[[bytes], Any]) -> None:
        """`locate(start)`: the gateway's endpoint URL, starting a gateway when none runs and `start` is set
        (blocking: run off the loop; raises BridgeError with a sentence). `write(line)`: one line on stdout."""
        self._locate = locate
        self._key = key
        self._write = write
        self._url: str | None = None
        self._session: str | None = None
        self._protocol: str | None = None
        self._initialize: dict[str, Any] | None = None  # the client's own, replayed after a restart
        self._initialized = False
        self._generation = 0  # which gateway session; bumped on each reconnect
        self._reconnecting = anyio.Lock()
        self._settled = anyio.Event()  # cleared while a reconnect runs: messages wait for the new session
        self._settled.set()
        self._write_lock = anyio.Lock()
        self._get_scope: anyio.CancelScope | None = None
        self.http = httpx2.AsyncClient(timeout=httpx2.Timeout(30.0, read=None))

    # --- the two sides ----------------------------------------------------------------------------
    async def to_client(self, message: dict[str, Any]) -> None:
        async with self._write_lock:
            await self._write(orjson.dumps(message) + b"\n")

    async def from_client(self, line: bytes, tg: anyio.abc.TaskGroup) -> None:
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            await self.to_client(_error(None, -32700, "Parse error: the line is not JSON"))
            return
        if not isinstance(message, dict):
            await self.to_client(_error(None, -32600, "Invalid Request: a JSON-RPC message is a JSON object"))
            return
        if "method" in message and "id" in message:
            if message["method"] == "initialize":
                await self._request(message, tg)  # in order: the session must exist before what follows
            else:
                tg.start_soon(self._request, message, tg)
        else:
            await self._notify(message, tg)

    # --- requests and notifications ---------------------------------------------------------------
    async def _request(self, message: dict[str, Any], tg: anyio.abc.TaskGroup) -> None:
        request_id = message.get("id")
        if message["method"] == "initialize":
            self._initialize = message
        try:
            await self._send_request(message, tg)
        except KeyRefused as exc:
            await self.to_client(_error(request_id, -32001, str(exc)))
        except BridgeUnavailable as exc:
            await self.to_client(_error(request_id, -32603, str(exc)))

    async def _send_request(self, message: dict[str, Any], tg: anyio.abc.TaskGroup) -> None:
        if message["method"] == "initialize":  # the first contact: look for the gateway once more, then give up
            try:
                await self._post(message, answer=True)
            except GatewayGone:
                self._url = None
                try:
                    await self._post(message, answer=True)
                except GatewayGone:
                    raise BridgeUnavailable("Switchboard is not reachable; see `switchboard status`.") from None
            return
        generation = self._generation
        try:
            await self._post(message, answer=True)
            return
        except GatewayGone as gone:
            await self._reconnect(generation, tg, start=True)
            if gone.why == "lost":
                raise BridgeUnavailable(
                    "Switchboard restarted while handling this request, so it was not completed; try again."
                ) from None
        try:  # it never reached a gateway that ran it: send it to the new one, once
            await self._post(message, answer=True)
        except GatewayGone:
            raise BridgeUnavailable("Switchboard is not reachable; see `switchboard status`.") from None

    async def _notify(self, message: dict[str, Any], tg: anyio.abc.TaskGroup) -> None:
        if message.get("method") == "notifications/initialized":
            self._initialized = True
        with contextlib.suppress(GatewayGone, KeyRefused):  # not worth repeating: the next request reconnects
            await self._post(message, answer=False)
        if message.get("method") == "notifications/initialized":
            self._open_get_stream(tg)

    def _headers(self, message: dict[str, Any]) -> dict[str, str]:
        headers = {"Accept": ACCEPT, "Content-Type": "application/json", "Authorization": f"Bearer {self._key}"}
        if self._session:
            headers["Mcp-Session-Id"] = self._session
        params = message.get("params")
        meta = params.get("_meta") if isinstance(params, dict) else None
        if isinstance(params, dict) and isinstance(meta, dict) and isinstance(meta.get(PROTOCOL_KEY), str):
            # A 2026-era client: the per-request envelope, mirrored in the routing headers the gateway checks.
            headers["MCP-Protocol-Version"] = meta[PROTOCOL_KEY]
            method = message.get("method")
            if isinstance(method, str):
                headers["Mcp-Method"] = method
                name_key = NAME_BEARING_METHODS.get(method)
                if name_key is not None and isinstance(params.get(name_key), str):
                    headers["Mcp-Name"] = encode_header_value(params[name_key])
        elif self._protocol:
            headers["MCP-Protocol-Version"] = self._protocol
        return headers

    async def _post(self, message: dict[str, Any], *, answer: bool) -> None:
        """POST one message; relay what comes back."""
        await self._settled.wait()
        url = await self._endpoint()
        try:
            body, headers = orjson.dumps(message), self._headers(message)
            async with self.http.stream("POST", url, content=body, headers=headers) as r:
                if r.status_code == 404 and self._session:
                    raise GatewayGone("session")
                if r.status_code == 401:
                    await r.aread()
                    raise KeyRefused(
                        "The gateway refused the bridge's API key (rotated or revoked); restart the client to pick "
                        "up the current one."
                    )
                if message.get("method") == "initialize" and r.status_code == 200:
                    self._session = r.headers.get("mcp-session-id")
                kind = r.headers.get("content-type", "")
                if kind.startswith("text/event-stream"):
                    async for event in sse_messages(r):
                        await self.to_client(event)
                elif answer or kind.startswith("application/json"):
                    body = await r.aread()
                    if body:
                        reply = orjson.loads(body)
                        if isinstance(reply, dict) and reply.get("id") is None and "id" in message:
                            reply["id"] = message["id"]  # an error for a request rejected before its id was read
                        if message.get("method") == "initialize" and isinstance(reply.get("result"), dict):
                            self._protocol = reply["result"].get("protocolVersion")
                        await self.to_client(reply)
        except (httpx2.ConnectError, httpx2.ConnectTimeout):
            raise GatewayGone("unreachable") from None
        except (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError):
            raise GatewayGone("lost") from None

    async def _endpoint(self, *, start: bool = True) -> str:
        if self._url is None:
            try:
                self._url = await anyio.to_thread.run_sync(self._locate, start)
            except BridgeError as exc:
                log.warning("%s", exc)
                raise BridgeUnavailable(str(exc)) from None
        return self._url

    # --- the session's GET stream (list_changed and other notifications) -----------------------------
    def _open_get_stream(self, tg: anyio.abc.TaskGroup) -> None:
        if self._session is None:
            return  # stateless (2026-era) sessions hear of changes through subscriptions/listen
        if self._get_scope is not None:
            self._get_scope.cancel()
        scope = anyio.CancelScope()
        self._get_scope = scope
        tg.start_soon(self._get_stream, scope, self._generation, tg)

    async def _get_stream(self, scope: anyio.CancelScope, generation: int, tg: anyio.abc.TaskGroup) -> None:
        with scope:
            headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {self._key}",
                       "Mcp-Session-Id": self._session or ""}
            if self._protocol:
                headers["MCP-Protocol-Version"] = self._protocol
            try:
                async with self.http.stream("GET", await self._endpoint(), headers=headers) as r:
                    if r.status_code == 405:
                        return  # the gateway offers no GET stream: nothing to hear
                    if r.status_code == 200:
                        async for event in sse_messages(r):
                            await self.to_client(event)
            except httpx2.HTTPError:
                pass
            # The stream ended: the gateway went away (or dropped this session). Find it again if it comes
            # back by itself (a restart); a gateway the user stopped is started again only by a request.
            # In a task of its own: reconnecting cancels this stream's scope.
            if generation == self._generation:
                tg.start_soon(self._reconnect_in_background, generation, tg)

    async def _reconnect_in_background(self, generation: int, tg: anyio.abc.TaskGroup) -> None:
        try:
            await self._reconnect(generation, tg, start=False)
        except BridgeUnavailable as exc:
            log.warning("%s", exc)

    # --- the gateway restarted ----------------------------------------------------------------------
    async def _reconnect(self, generation: int, tg: anyio.abc.TaskGroup, *, start: bool) -> None:
        """Find the gateway again and re-initialize this client's session there (once per restart).
        Raises BridgeUnavailable with the reason when it cannot."""
        async with self._reconnecting:
            if generation != self._generation:
                return  # another task already did it
            self._generation += 1
            self._url, self._session = None, None
            if self._get_scope is not None:
                self._get_scope.cancel()
            if self._initialize is None:
                return  # nothing to restore: the client's next request opens the session
            self._settled = anyio.Event()
            try:
                await self._restore_session(tg, start=start)
            finally:
                self._settled.set()
        for method in LIST_CHANGES:  # what it lists may have changed while it was away
            await self.to_client({"jsonrpc": "2.0", "method": method})

    async def _restore_session(self, tg: anyio.abc.TaskGroup, *, start: bool) -> None:
        """Re-initialize with the client's own initialize on the gateway found now; bounded tries."""
        log.warning("The gateway went away; reconnecting.")
        initialize = self._initialize
        assert initialize is not None, "only a session that was opened is restored"
        for attempt in range(RECONNECT_TRIES):
            try:
                await self._endpoint(start=start or attempt == RECONNECT_TRIES - 1)
                replay = {**initialize, "id": f"switchboard-bridge-reinit-{self._generation}"}
                await self._post_quietly(replay)
                if self._initialized:
                    await self._post_quietly({"jsonrpc": "2.0", "method": "notifications/initialized"})
                break
            except (GatewayGone, BridgeUnavailable):
                self._url = None
                if attempt == RECONNECT_TRIES - 1:
                    raise BridgeUnavailable("Switchboard is not running and could not be started.") from None
                await anyio.sleep(1.0 * (attempt + 1))  # a restarting gateway takes a moment to bind
        log.warning("Reconnected to the gateway at %s.", self._url)
        self._open_get_stream(tg)

    async def _post_quietly(self, message: dict[str, Any]) -> None:
        """POST without relaying the answer (the re-initialize the client must not see)."""
        url = await self._endpoint()
        try:
            r = await self.http.post(url, content=orjson.dumps(message), headers=self._headers(message))
        except httpx2.HTTPError:
            raise GatewayGone("unreachable") from None
        if r.status_code >= 400:
            raise GatewayGone("unreachable")
        if message.get("method") == "initialize":
            self._session = r.headers.get("mcp-session-id")
            with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
                self._protocol = orjson.loads(r.content)["result"]["protocolVersion"]

    async def close(self) -> None:
        if self._session and self._url:
            try:
                with anyio.move_on_after(2):
                    await self.http.delete(self._url, headers=self._headers({}))
            except httpx2.HTTPError:
                pass
        await self.http.aclose()


async def serve_stdio(bridge: Bridge) -> None:
    """Pump the client's stdin into the bridge until it closes; then end the session."""
    stdin = anyio.wrap_file(sys.stdin.buffer)
    try:
        async with anyio.create_task_group() as tg:
            async for line in stdin:
                if line.strip():
                    await bridge.from_client(line, tg)
            tg.cancel_scope.cancel()  # the client went away: nothing left to answer
    finally:
        with anyio.CancelScope(shield=True):
            await bridge.close()
