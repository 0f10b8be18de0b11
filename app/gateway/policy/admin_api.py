"""The approvals' admin route, for `switchboard approvals|approve|deny` and scripts: main key only.

    GET  /api/v1/admin/approvals                -> {"approvals": [{id, client, key, server, tool, ...}]}
    POST /api/v1/admin/approvals/ID/approve     -> {"id", "answer": "approve"}   (404: no such waiting call)
    POST /api/v1/admin/approvals/ID/deny

Mounted in `Gateway.routes`, behind the guard (Host/Origin checked, key verified). A per-client key is
refused: a client must not approve its own calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from app.gateway.http.responses import send_json
from app.gateway.policy.approvals import PendingApproval, UnknownApproval
from app.gateway.security.identity import SCOPE_KEY

PREFIX = "/api/v1/admin/approvals"
ANSWERS = ("approve", "deny")
Scope = MutableMapping[str, Any]


def approvals_route(
    pending: Callable[[], list[PendingApproval]], answer: Callable[[str, str], Awaitable[PendingApproval]]
) -> Callable[..., Any]:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        identity = scope.get(SCOPE_KEY)
        if identity is None or identity.name != "main":
            await send_json(send, 403, {"error": "forbidden", "message": "Only the main API key may answer approvals."})
            return
        parts = [p for p in scope["path"].removeprefix(PREFIX).split("/") if p]
        method = scope.get("method")
        if not parts:
            if method != "GET":
                await send_json(send, 405, {"error": "method_not_allowed", "message": "Use GET."})
                return
            await send_json(send, 200, {"approvals": [a.as_dict() for a in pending()]})
            return
        if len(parts) != 2 or parts[1] not in ANSWERS:
            await send_json(send, 404, {"error": "not_found", "message": f"No such admin route: {scope['path']}."})
            return
        if method != "POST":
            await send_json(send, 405, {"error": "method_not_allowed", "message": "Use POST."})
            return
        approval_id, verb = parts
        try:
            approval = await answer(approval_id, verb)
        except UnknownApproval:
            message = f"No call waits for approval under the id {approval_id!r} (answered, timed out or withdrawn)."
            await send_json(send, 404, {"error": "not_found", "message": message})
            return
        body = {"id": approval.id, "answer": verb, "tool": approval.tool, "client": approval.client_name}
        await send_json(send, 200, body)

    return app
