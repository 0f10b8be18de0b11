"""The admin route the running instance answers: `POST /api/v1/admin/shutdown`, main key only.

`switchboard stop` asks through it rather than with a signal, because Windows has no SIGTERM. The
route does not stop anything itself: it asks the process hosting the gateway (serve, the tray) through
the callback that host supplies, so Ctrl-C, SIGTERM and this route all end the same graceful way
(stop accepting, in-flight calls answered with an error, children stopped).

It is mounted in `Gateway.routes`, behind the guard: Host/Origin are checked and the key verified
before it runs, and the identity the key grants is in the scope. A per-client key is refused: a
client limited to two tools must not be able to stop the gateway for every other client.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, MutableMapping
from typing import Any

log = logging.getLogger(__name__)

PREFIX = "/api/v1/admin"
SHUTDOWN = "/shutdown"

Scope = MutableMapping[str, Any]
ASGIApp = Callable[..., Any]


def control_url(base_url: str) -> str:
    """What a running instance publishes as RuntimeInfo.control: where its admin routes live."""
    return base_url.rstrip("/") + PREFIX


def shutdown_url(control: str) -> str:
    return control.rstrip("/") + SHUTDOWN


def admin_routes(request_shutdown: Callable[[], None]) -> ASGIApp:
    """The ASGI app for PREFIX. `request_shutdown` is called once the answer is sent; it must only ask
    (set an event, post to a loop or a Qt signal) and return at once: it runs on the gateway's loop."""
    # Here, not at the top: `claim`/`publish` (app/daemon/hosting.py) import this module before serve has
    # started its servers, and importing the gateway (the SDK) then would hold their start back.
    from app.gateway.http.responses import send_json
    from app.gateway.security.identity import SCOPE_KEY

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        path = scope["path"].removeprefix(PREFIX)
        if path != SHUTDOWN:
            await send_json(send, 404, {"error": "not_found", "message": f"No such admin route: {scope['path']}."})
            return
        if scope.get("method") != "POST":
            await send_json(send, 405, {"error": "method_not_allowed", "message": "Use POST."}, [(b"allow", b"POST")])
            return
        identity = scope.get(SCOPE_KEY)
        if identity is None or identity.name != "main":
            who = "no key" if identity is None else f"the key {identity.name!r}"
            log.warning("Refused a shutdown request made with %s: only the main key may stop Switchboard", who)
            await send_json(send, 403, {"error": "forbidden", "message": "Only the main API key may stop Switchboard."})
            return
        log.info("Stopping: asked to by `switchboard stop` (the admin API)")
        await send_json(send, 202, {"stopping": True, "pid": os.getpid()})
        request_shutdown()

    return app
