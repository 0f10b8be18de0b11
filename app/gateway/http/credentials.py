"""`POST /api/v1/admin/credentials/NAME`: a remote server's kept sign-in changed; reconnect it. Main key only.

`switchboard login` and `logout` run in their own process and write the token store themselves; then
they call this route of the running gateway, which re-reads that server's sign-in from the store and
reconnects it (a server that waited in `needs sign-in` runs; one signed out waits). The tokens never
travel over this route: it carries only the server's name.

Mounted in `Gateway.routes`, behind the guard (Host/Origin checked, the key verified, its identity in
the scope). A per-client key is refused: a client limited to two tools must not reconnect servers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, unquote

from app.gateway.errors import GatewayError
from app.gateway.http.responses import send_json
from app.gateway.security.identity import SCOPE_KEY

log = logging.getLogger(__name__)

PREFIX = "/api/v1/admin/credentials"
ASGIApp = Callable[..., Any]


def credentials_url(base_url: str, server: str) -> str:
    return f"{base_url.rstrip('/')}{PREFIX}/{quote(server, safe='')}"


def credentials_routes(changed: Callable[[str], Awaitable[None]]) -> ASGIApp:
    """`changed(name)` re-reads and reconnects the server; it raises GatewayError for an unknown one."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        name = unquote(scope["path"].removeprefix(PREFIX).strip("/"))
        if not name or "/" in name:
            await send_json(send, 404, {"error": "not_found", "message": f"No such route: {scope['path']}."})
            return
        if scope.get("method") != "POST":
            await send_json(send, 405, {"error": "method_not_allowed", "message": "Use POST."})
            return
        identity = scope.get(SCOPE_KEY)
        if identity is None or identity.name != "main":
            log.warning("Refused a request to reconnect server %s: only the main key may", name)
            await send_json(send, 403, {"error": "forbidden", "message": "Only the main API key may do this."})
            return
        try:
            await changed(name)
        except GatewayError as exc:
            await send_json(send, 404, {"error": "not_found", "message": str(exc)})
            return
        log.info("Server %s: its sign-in changed, reconnecting it", name)
        await send_json(send, 202, {"server": name, "reconnecting": True})

    return app
