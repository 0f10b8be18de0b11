"""The sentence a server's state shows when it stopped or could not start: what happened, in the user's
terms (the command, the URL, the limit), with the last line it printed to stderr."""

from __future__ import annotations

import httpx2
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import CONNECTION_CLOSED

from app.config.models import ChildConfig, RemoteServer, StdioServer


def exit_reason(kind: str, ended: str | None, stderr_tail: str | None) -> str:
    """It was running and its connection ended."""
    if ended:
        return ended
    reason = "the server closed its connection" if kind == "remote" else "the server process exited"
    return f"{reason}: {stderr_tail}" if stderr_tail else reason


def describe_failure(
    exc: BaseException, config: ChildConfig | None, kind: str, ended: str | None, stderr_tail: str | None,
    connect_timeout: float,
) -> str:
    """It could not start: `exc` is the first real error (see first_cause)."""
    if ended:
        return ended
    if isinstance(exc, FileNotFoundError) and isinstance(config, StdioServer):
        return f"command not found: {config.command}"
    if isinstance(exc, PermissionError) and isinstance(config, StdioServer):
        return f"command not executable: {config.command}"
    if isinstance(exc, httpx2.TransportError) and isinstance(config, RemoteServer):
        return f"cannot reach {config.url} ({exc or type(exc).__name__})"
    if isinstance(exc, TimeoutError):
        return f"no answer to the MCP handshake within {connect_timeout:.0f} s"
    text = str(exc) or type(exc).__name__
    if isinstance(exc, MCPError) and exc.code == CONNECTION_CLOSED:
        text = "the server exited during start-up" if kind == "stdio" else "the server closed the connection"
    return f"{text}: {stderr_tail}" if stderr_tail else text


def first_cause(exc: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
