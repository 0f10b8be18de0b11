"""Clients that use only their first N tools (Cursor ~40, Windsurf ~50): say so when Switchboard serves more.

The rest of the merged catalog would be silently out of the model's reach, so the note names the count,
where the tools come from, and a per-client key limited to servers that fit.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.platform.clients import ClientWriter

from .gateway_view import GatewayView


def cap_note(writer: ClientWriter, view: GatewayView, servers: Sequence[str] | None = None) -> str | None:
    """A sentence when the client's cap is exceeded (or cannot be checked); None when the catalog fits."""
    cap = writer.tool_cap
    if cap is None:
        return None
    total = view.tool_count(servers)
    if total is None or view.tools is None:
        return (
            f"{writer.title} uses only its first {cap} tools; Switchboard is not running, so how many it serves "
            f"is unknown: check with `switchboard clients` once it runs."
        )
    if total <= cap:
        return None
    counts = {name: n for name, n in view.tools.items() if (servers is None or name in servers) and n}
    by_size = ", ".join(f"{name} {n}" for name, n in sorted(counts.items(), key=lambda item: -item[1]))
    fitting = fit(counts, cap)
    so_far = " so far" if view.starting else ""
    advice = (
        f"limit its key to the servers it needs, e.g. `switchboard connect {writer.id} --servers {','.join(fitting)}`"
        if fitting
        else "no single server fits, so limit its key to some tools with `switchboard keys add` (--tools)"
    )
    return (
        f"{writer.title} uses only its first {cap} tools, and Switchboard serves {total}{so_far} ({by_size}); "
        f"{advice}."
    )


def fit(counts: dict[str, int], cap: int) -> list[str]:
    """Servers whose tools fit under the cap together, smallest first (the most servers kept), in name order."""
    chosen, total = [], 0
    for name, n in sorted(counts.items(), key=lambda item: (item[1], item[0])):
        if total + n <= cap:
            chosen.append(name)
            total += n
    return sorted(chosen)
