"""The body of /health (also what `switchboard status` and the tray read): the gateway's state, and each
server's, with what a server waiting for a sign-in asks for."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app import __version__
from app.gateway.children.supervisor import ChildState, ChildSupervisor


def health_body(state: str, children: Iterable[ChildSupervisor], *, config_broken: bool) -> dict[str, Any]:
    children = list(children)
    wanted = [s for s in children if s.enabled or s.invalid is not None]  # a broken entry counts
    if state != "running":
        status = state
    elif starting_up(children):
        status = "starting"
    elif all(s.state == ChildState.RUNNING for s in wanted):
        status = "ok"
    else:
        status = "degraded"
    body: dict[str, Any] = {"status": status, "version": __version__,
                            "children": {s.name: _child_health(s) for s in children}}
    if config_broken:
        body["config"] = "the config file has a problem; the last good config is running"
    return body


def starting_up(children: Iterable[ChildSupervisor]) -> bool:
    """Some enabled server has not finished its first start yet."""
    return any(s.enabled and not s.first_start.is_set() for s in children)


def _child_health(child: ChildSupervisor) -> dict[str, Any]:
    body: dict[str, Any] = {"state": child.state.value, "tools": len(child.lists.tools)}
    if child.next_retry_at:
        body["retry_at"] = child.next_retry_at
    if child.state == ChildState.NEEDS_SIGN_IN and child.sign_in is not None:
        body["sign_in"] = {"issuer": child.sign_in.issuer, "scopes": list(child.sign_in.scopes),
                           "expired": child.sign_in.expired}
    return body
