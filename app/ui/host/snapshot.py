"""What the Qt side may know of the gateway: one immutable snapshot, taken on the gateway's own thread.

The gateway runs on its own loop in another thread, so Qt never walks its dicts (that would race
with the loop and can raise "dictionary changed size during iteration"). `take_snapshot` runs on
the gateway thread and copies out plain values; Qt reads the latest snapshot, a single reference.
This module is Qt-free on purpose: it is built where no QObject may be touched.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.config import LoadedConfig
from app.gateway import PendingApproval, ServerPolicy, ToolPolicy


@dataclass(frozen=True)
class ServerRow:
    name: str
    kind: str
    state: str
    enabled: bool
    tools: int
    prompts: int
    resources: int
    calls: int
    error: str
    next_retry_at: float | None
    target: str

    def state_text(self, now: float | None = None) -> str:
        if self.state == "backoff" and self.next_retry_at:
            return f"retrying in {max(0, round(self.next_retry_at - (now or time.time())))} s"
        if self.state == "starting":
            return "starting…"
        return self.state


@dataclass(frozen=True)
class ClientRow:
    client_id: str
    name: str
    version: str
    transport: str
    key_name: str
    connected_at: float
    last_seen: float
    calls: int


@dataclass(frozen=True)
class ChildDetail:
    """What the Servers tab shows of the selected child beyond its row."""

    log_path: Path
    stderr_tail: tuple[str, ...]
    running_since: float | None
    policy: ServerPolicy | None = None  # its limits and cache counts now
    tools: tuple[ToolPolicy, ...] = ()  # each tool's policy, for the editor


@dataclass(frozen=True)
class GatewaySnapshot:
    version: int
    state: str
    host: str
    port: int | None
    url: str | None
    base_url: str | None
    loaded: LoadedConfig
    servers: tuple[ServerRow, ...] = ()
    clients: tuple[ClientRow, ...] = ()
    details: Mapping[str, ChildDetail] = field(default_factory=lambda: MappingProxyType({}))
    config_error: str | None = None  # the config file on disk is broken (the last good one runs)
    approvals: tuple[PendingApproval, ...] = ()  # calls waiting for approval, oldest first

    @property
    def config_path(self) -> Path:
        return self.loaded.path

    def server(self, name: str) -> ServerRow | None:
        return next((row for row in self.servers if row.name == name), None)

    def same_as(self, other: GatewaySnapshot | None) -> bool:
        """Everything but the version is equal: nothing for the UI to redraw."""
        if other is None:
            return False
        return self.loaded is other.loaded and (
            self.state, self.port, self.url, self.servers, self.clients, dict(self.details), self.config_error,
            self.approvals,
        ) == (other.state, other.port, other.url, other.servers, other.clients, dict(other.details), other.config_error,
              other.approvals)  # fmt: skip


def take_snapshot(gateway: Any, version: int) -> GatewaySnapshot:
    """Copy the gateway's state into plain values. Call it on the gateway's loop thread only."""
    servers = []
    details = {}
    for s in gateway.children():
        resources = len(s.lists.resources) + len(getattr(s.lists, "templates", []))
        servers.append(
            ServerRow(
                s.name, s.kind, s.state.value, s.enabled, len(s.lists.tools), len(s.lists.prompts),
                resources, s.calls, s.error or "", s.next_retry_at, s.target,
            )
        )
        # The tail is appended to by the child's stderr reader thread; deque.copy() is one C call.
        details[s.name] = ChildDetail(
            s.stderr.path, tuple(s.stderr.tail.copy()), s.running_since, gateway.policy.server_view(s.name),
            tuple(gateway.policy.tool_policies(s.name)),
        )  # fmt: skip
    clients = tuple(
        ClientRow(c.client_id, c.name, c.version, c.transport, c.identity.name, c.connected_at, c.last_seen, c.calls)
        for c in sorted(gateway.clients(), key=lambda c: c.connected_at)
    )
    error = gateway.config_error
    return GatewaySnapshot(
        version, gateway.state, gateway.host, gateway.port, gateway.url, gateway.base_url, gateway.loaded,
        tuple(servers), clients, MappingProxyType(details), error.sentence() if error is not None else None,
        tuple(gateway.policy.approvals.pending()),
    )
