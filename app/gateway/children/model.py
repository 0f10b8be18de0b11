"""What the rest of the gateway knows of a child: its states, its lists, its errors, where its requests go."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

import mcp_types as types
from mcp.shared.exceptions import MCPError


class ChildState(enum.StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    FAILED = "failed"
    DISABLED = "disabled"
    STOPPED = "stopped"


class ChildUnavailable(MCPError):
    """Raised for a call to a child that is not running; its message names the server."""


class ChildTimedOut(MCPError):
    """The child did not answer within the call's timeout; it was sent a cancellation."""


@dataclass
class ChildLists:
    """The child's own lists as raw wire dicts, kept verbatim (schemas included)."""

    tools: list[dict[str, Any]] = field(default_factory=list)
    prompts: list[dict[str, Any]] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)


class UpstreamRelay(Protocol):
    """Where a child's own requests and notifications go: to the client whose call is in flight.

    Over stdio a child's sampling or log message carries no link to the request that caused it: the
    relay delivers it only when one client has calls in flight on that child, and refuses otherwise.
    """

    async def sampling(self, child: str, params: types.CreateMessageRequestParams) -> Any: ...
    async def elicitation(self, child: str, params: types.ElicitRequestParams) -> Any: ...
    async def list_roots(self, child: str) -> Any: ...
    async def log_message(self, child: str, params: types.LoggingMessageNotificationParams) -> None: ...
    async def resource_updated(self, child: str, uri: str) -> None: ...
