"""The one error type of a call the policy stopped before its server saw it (rate limit, busy, deny, no approval)."""

from __future__ import annotations

from typing import Any

from mcp.shared.exceptions import MCPError

NOT_APPROVED = -32031  # JSON-RPC's implementation-defined server error range, beside RATE_LIMITED and SERVER_BUSY


class Refused(MCPError):
    """`decided_by`: "policy" or "user" or "timeout" when an allow/deny/ask decision refused it, else None.
    `status`: what the history records ("refused"; "cancelled" for a call its client withdrew)."""

    def __init__(
        self, code: int, message: str, data: Any = None, *, decided_by: str | None = None, status: str = "refused"
    ) -> None:
        super().__init__(code, message, data)
        self.decided_by = decided_by
        self.status = status
