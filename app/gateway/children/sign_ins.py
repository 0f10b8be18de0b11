"""The gateway's side of signing in to remote servers: run a sign-in for one configured server (the Sign in
button, on the gateway's loop), forget one, and reconnect a server whose kept sign-in changed (also when
`switchboard login`/`logout` changed it from another process, through the credentials admin route).

One sign-in per server at a time; the tokens go to the token store the composition root handed over,
and the supervisor's next connection reads them from there (app/gateway/children/oauth.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from app.config.models import Config, RemoteServer
from app.gateway.children.loopback import SignInError
from app.gateway.children.sign_in import SIGN_IN_TIMEOUT_S, OpenUrl, SignedIn, sign_in, sign_out
from app.gateway.children.supervisor import ChildSupervisor
from app.gateway.children.tokens import TokenStore
from app.gateway.errors import GatewayError

log = logging.getLogger(__name__)


class RemoteSignIns:
    """`restart(name)` reconnects a running server; `running()` says whether children are being supervised."""

    def __init__(
        self,
        tokens: TokenStore | None,
        supervisors: Mapping[str, ChildSupervisor],
        applied: Callable[[], Config],
        restart: Callable[[str], Awaitable[None]],
        running: Callable[[], bool],
    ) -> None:
        self.tokens = tokens
        self.supervisors = supervisors
        self.applied = applied
        self.restart = restart
        self.running = running
        self.in_progress: set[str] = set()

    async def sign_in(self, name: str, open_url: OpenUrl, timeout: float = SIGN_IN_TIMEOUT_S) -> SignedIn:
        """Sign in to the remote server `name` (its OAuth, in the browser `open_url` opens), keep the tokens
        and reconnect it with them. Raises GatewayError, a sentence (also when the sign-in fails)."""
        config = self._remote(name)
        if self.tokens is None:
            raise GatewayError("This gateway was started without a place to keep sign-ins.")
        if name in self.in_progress:
            raise GatewayError(f"A sign-in to '{name}' is already waiting for the browser; finish that one.")
        self.in_progress.add(name)
        try:
            signed = await sign_in(name, config, self.tokens, open_url=open_url, timeout=timeout)
        except SignInError as exc:
            raise GatewayError(str(exc)) from None
        finally:
            self.in_progress.discard(name)
        log.info("%s", signed.sentence())
        await self.changed(name)
        return signed

    async def sign_out(self, name: str) -> None:
        """Forget the kept sign-in of `name`; it waits for a new one. Raises GatewayError."""
        self._remote(name)
        if self.tokens is not None:
            try:
                await sign_out(name, self.tokens)
            except Exception as exc:
                raise GatewayError(f"Could not forget the sign-in of '{name}': {exc}") from None
        await self.changed(name)

    async def changed(self, name: str) -> None:
        """The kept sign-in of `name` changed: reconnect it with what is kept now."""
        supervisor = self.supervisors.get(name)
        if supervisor is None:
            raise GatewayError(f"There is no server named '{name}' in the config.")
        if supervisor.enabled and self.running():
            await self.restart(name)

    def _remote(self, name: str) -> RemoteServer:
        config = self.applied().mcpServers.get(name)
        if name not in self.supervisors or config is None:
            raise GatewayError(f"There is no server named '{name}' in the config.")
        if not isinstance(config, RemoteServer):
            raise GatewayError(f"'{name}' is a local command; only remote servers are signed in to.")
        return config
