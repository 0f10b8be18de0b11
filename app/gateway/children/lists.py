"""Reading a child's tools, prompts, resources and templates, page by page, as the raw dicts it sent."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from mcp import Client
from mcp.shared.exceptions import MCPError

from app.gateway.children.model import ChildLists
from app.gateway.sdk.raw import send_raw

log = logging.getLogger(__name__)

LIST_PAGE_CAP = 100  # pages per list: a child whose cursor never ends cannot keep the gateway reading


async def read_lists(
    server: str, capabilities: Mapping[str, Any], client: Callable[[], Client | None], timeout: float
) -> ChildLists:
    """Every list the child's capabilities offer. `client()` is read per page: the connection may end."""
    lists = ChildLists()
    if "tools" in capabilities:
        lists.tools = await _list_all(server, client, "tools/list", "tools", timeout)
    if "prompts" in capabilities:
        lists.prompts = await _list_all(server, client, "prompts/list", "prompts", timeout)
    if "resources" in capabilities:
        lists.resources = await _list_all(server, client, "resources/list", "resources", timeout)
        lists.templates = await _list_all(server, client, "resources/templates/list", "resourceTemplates", timeout)
    return lists


async def _list_all(
    server: str, client: Callable[[], Client | None], method: str, key: str, timeout: float
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(LIST_PAGE_CAP):
        try:
            connected = client()
            if connected is None:
                return items
            page = await send_raw(connected, method, {"cursor": cursor} if cursor else {}, timeout=timeout)
        except MCPError as exc:
            log.warning("server %s: %s failed: %s", server, method, exc)
            return items
        items.extend(page.get(key) or [])
        cursor = page.get("nextCursor")
        if not cursor:
            break
    return items
