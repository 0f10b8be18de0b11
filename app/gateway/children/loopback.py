"""The loopback redirect listener of an interactive sign-in (RFC 8252 §7.3): 127.0.0.1 on a free port,
one path, the `state` checked before a code is taken, a bounded wait.

An answer whose `state` is not the one this sign-in sent (a forged or stale redirect) is refused with
400 and the wait goes on; so is a request addressed to another host name (DNS rebinding). The first
answer that matches ends the wait, with the code or with the authorization server's error.
"""

from __future__ import annotations

import contextlib
import html
import logging
import secrets
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import anyio
import uvicorn
from mcp.shared.auth import AuthorizationCodeResult

from app.gateway.http.serving import bind_socket, embedded_server

log = logging.getLogger(__name__)

CALLBACK_PATH = "/callback"
HOST = "127.0.0.1"


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1:`port` (0: a free one). Raises GatewayError (kind "port_in_use")."""
    return bind_socket(HOST, port)


class SignInError(Exception):
    """A sign-in that did not complete; `str()` is a sentence for the user."""


class LoopbackRedirect:
    def __init__(self, port: int) -> None:
        self.port = port
        self.uri = f"http://{HOST}:{port}{CALLBACK_PATH}"
        self.refused = 0  # answers refused (wrong state, wrong host): tests and the log read it
        self._state: str | None = None
        self._result: AuthorizationCodeResult | SignInError | None = None
        self._done = anyio.Event()

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, sock: socket.socket) -> AsyncIterator[LoopbackRedirect]:
        """Answer on `sock` (bound by `bind_loopback`) until the block ends; the socket is closed then."""
        listener = cls(sock.getsockname()[1])
        config = uvicorn.Config(
            listener.app, interface="asgi3", log_config=None, lifespan="off", access_log=False, ws="none",
            server_header=False,
            timeout_graceful_shutdown=2,
        )  # no access log: the redirect's query holds the authorization code
        server = embedded_server(config)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(server.serve, [sock])
                try:
                    yield listener
                finally:
                    server.should_exit = True
        except BaseExceptionGroup as group:  # the block's own error, as it raised it (a SignInError, ...)
            if len(group.exceptions) == 1 and not isinstance(group.exceptions[0], BaseExceptionGroup):
                raise group.exceptions[0] from None
            raise
        finally:
            sock.close()

    def expect(self, authorization_url: str) -> None:
        """The authorization request about to be opened: its `state` is the one answer accepted."""
        query = parse_qs(authorization_url.partition("?")[2])
        state = (query.get("state") or [""])[0]
        if not state:
            raise SignInError("The authorization request carries no state; Switchboard will not use it.")
        self._state = state

    async def wait(self, timeout: float) -> AuthorizationCodeResult:
        """The authorization code, once the browser comes back. Raises SignInError (refused, or no
        answer within `timeout` seconds)."""
        with anyio.move_on_after(timeout):
            await self._done.wait()
        result = self._result
        if result is None:
            raise SignInError(
                f"No answer from the browser within {timeout:g} s, so the sign-in was abandoned. Try again, "
                "and finish signing in in the browser."
            )
        if isinstance(result, SignInError):
            raise result
        return result

    # --- the one route ----------------------------------------------------------------------------
    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] != CALLBACK_PATH:
            await _page(send, 404, "Not found", "This is Switchboard's sign-in listener; nothing lives here.")
            return
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if host not in (f"{HOST}:{self.port}", f"localhost:{self.port}"):
            self.refused += 1
            log.warning("Refused a sign-in answer addressed to %r (expected %s:%d)", host, HOST, self.port)
            await _page(send, 400, "Refused", "This request was not addressed to Switchboard's listener.")
            return
        query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
        state = query.get("state", "")
        if self._state is None or not secrets.compare_digest(state.encode(), self._state.encode()):
            self.refused += 1
            log.warning("Refused a sign-in answer whose state does not match the sign-in in progress")
            await _page(send, 400, "Refused", "This answer does not belong to the sign-in Switchboard is waiting "
                        "for (its state does not match), so it was not used.")
            return
        if self._done.is_set():
            await _page(send, 409, "Already done", "This sign-in is already over. You can close this tab.")
            return
        if "error" in query:
            reason = query["error"] + (f": {query['error_description']}" if query.get("error_description") else "")
            self._finish(SignInError(f"The authorization server refused the sign-in ({reason})."))
            await _page(send, 400, "Sign-in refused", f"The authorization server said: {reason}.")
            return
        if not query.get("code"):
            await _page(send, 400, "Refused", "The answer carries no authorization code.")
            return
        self._finish(AuthorizationCodeResult(code=query["code"], state=state, iss=query.get("iss")))
        await _page(send, 200, "Signed in", "Switchboard has what it needs. You can close this tab.")

    def _finish(self, result: AuthorizationCodeResult | SignInError) -> None:
        self._result = result
        self._done.set()


async def _page(send: Any, status: int, title: str, text: str) -> None:
    body = (
        f"<!doctype html><meta charset=utf-8><title>Switchboard: {html.escape(title)}</title>"
        f"<body style='font-family:sans-serif;margin:3em'><h2>{html.escape(title)}</h2>"
        f"<p>{html.escape(text)}</p>"
    ).encode()
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), (b"referrer-policy", b"no-referrer")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

