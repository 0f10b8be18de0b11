"""Where AI clients find Switchboard: the running gateway's URL (else the configured one) and its tool counts.

The CLI asks the running instance (runtime.json) and the gateway's public /health; the tray knows both from
its own snapshot and builds a GatewayView directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config import ConfigStore, GatewaySettings
from app.daemon.instance import running_instance

HEALTH_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class GatewayView:
    """What a writer needs to know about the gateway at the moment of connecting."""

    url: str | None  # the Streamable HTTP URL (.../mcp); None when no fixed address is known
    running: bool = False  # a Switchboard gateway answers at `url`
    tools: Mapping[str, int] | None = None  # tools per server, as the gateway counts them; None when none runs
    config: Path | None = None  # the config file the running instance uses, when known
    starting: bool = False  # servers are still in their first start: the counts may grow

    def tool_count(self, servers: Sequence[str] | None = None) -> int | None:
        """Tools served in all, or only from `servers` (a key limited to them); None when unknown."""
        if self.tools is None:
            return None
        return sum(n for name, n in self.tools.items() if servers is None or name in servers)


def settings_url(settings: GatewaySettings) -> str | None:
    """The URL clients use for the configured address; None for port 0 (a new port on every start)."""
    if not settings.port:
        return None
    host = settings.host
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"  # bound everywhere: this machine's clients still use loopback
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/mcp"


def find_gateway(store: ConfigStore, state_dir: Path) -> GatewayView:
    """The running instance's URL, else the config's; tool counts from the gateway's /health when it answers.

    Raises ConfigError when no instance runs and the config cannot be read.
    """
    info = running_instance(state_dir)
    url = info.url if info is not None and info.url else settings_url(store.config.gateway)
    health = read_health(url) if url else None
    config = Path(info.config) if info is not None else None
    if health is None:
        return GatewayView(url, config=config)
    return GatewayView(
        url,
        running=True,
        tools=tools_of(health),
        config=config,
        starting=health.get("status") == "starting",
    )


def base_of(url: str) -> str:
    return url[: -len("/mcp")] if url.endswith("/mcp") else url.rstrip("/")


def read_health(url: str) -> dict[str, Any] | None:
    """The gateway's /health (public, nothing secret), or None when nothing (or not Switchboard) answers."""
    import httpx2  # only the verbs that look at a running gateway pay for importing it

    try:
        response = httpx2.get(base_of(url) + "/health", timeout=HEALTH_TIMEOUT_S)
        body = response.json()
    except (httpx2.HTTPError, ValueError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("children"), dict):
        return None  # something else listens on that port
    return body


def tools_of(health: Mapping[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, child in health.get("children", {}).items():
        if isinstance(child, dict) and isinstance(child.get("tools"), int):
            counts[str(name)] = child["tools"]
    return counts
