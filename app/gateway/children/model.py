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
    NEEDS_SIGN_IN = "needs sign-in"  # a remote server asks for OAuth: it waits for the user, not a retry
    FAILED = "failed"
    DISABLED = "disabled"
    STOPPED = "stopped"


@dataclass(frozen=True)
class SignInChallenge:
    """What a server that asks for authorization asks for: who signs in (the authorization server's
    issuer) and the scopes; `expired` when a sign-in that worked could not be renewed."""

    issuer: str
    scopes: tuple[str, ...] = ()
    expired: bool = False

    def sentence(self, server: str) -> str:
        asks = f" (scopes: {' '.join(self.scopes)})" if self.scopes else ""
        if self.expired:
            return f"The sign-in to {self.issuer} expired and could not be renewed: sign in again{asks}."
        return f"Sign in to use it: {server} asks for authorization by {self.issuer}{asks}."


class SignInRequired(Exception):
    """Raised by a child's OAuth when only the user can go on (no tokens, or they could not be refreshed)."""

    def __init__(self, challenge: SignInChallenge) -> None:
        super().__init__(f"sign-in required by {challenge.issuer}")
        self.challenge = challenge


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
