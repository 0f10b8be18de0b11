"""What a client in tool search mode sees and calls: the three gateway tools plus its pinned tools.

Whether a client is in search mode is its key's choice (`switchboard keys add --tool-search`), else the
gateway's (`gateway.tool_search`). A real tool called by name directly still works: the router routes it
as always. Every answer is limited to what the caller's key may see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import mcp_types as types

from app.config.models import Config
from app.gateway.policy import tool_search
from app.gateway.policy.rules import matching_globs, tool_search_on
from app.gateway.policy.tool_search import CALL, GATEWAY_TOOLS, GET, SEARCH, SearchIndex, text_result
from app.gateway.routing.catalog import Catalog


class SearchHost(Protocol):
    """What search mode needs of the router serving the request."""

    def catalog(self) -> Catalog: ...

    def visible_tools(self, ctx: Any) -> list[dict[str, Any]]: ...

    async def call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> Any: ...


class SearchMode:
    def __init__(self, config: Callable[[], Config]) -> None:
        self.config = config
        self._index: tuple[Catalog, SearchIndex] | None = None

    def on(self, key_name: str) -> bool:
        return tool_search_on(self.config(), key_name)

    def listed(self, key_name: str, tools: list[dict[str, Any]], catalog: Catalog) -> list[dict[str, Any]]:
        """`tools` (what the key may see) as this key lists them: all of them, or the gateway tools and the pinned."""
        if not self.on(key_name):
            return tools
        config = self.config()
        pinned = []
        for tool in tools:
            route = catalog.tool_routes.get(tool["name"])
            child = config.mcpServers.get(route.server) if route is not None else None
            globs = matching_globs(route.name, child.tools) if route is not None and child is not None else []
            if child is not None and any(child.tools[g].pinned for g in globs):
                pinned.append(tool)
        return [*tool_search.LISTING, *pinned]

    def index(self, catalog: Catalog) -> SearchIndex:
        if self._index is None or self._index[0] is not catalog:  # a new catalog: its lists changed
            self._index = (catalog, SearchIndex(catalog.tools, lambda name: catalog.tool_routes[name].server))
        return self._index[1]

    async def answer(self, host: SearchHost, ctx: Any, key_name: str, params: Any) -> dict[str, Any] | None:
        """The result of a gateway tool call, or None when `params.name` is not a gateway tool for this key."""
        if params.name not in GATEWAY_TOOLS or not self.on(key_name):
            return None
        arguments = params.arguments or {}
        visible = {t["name"]: t for t in host.visible_tools(ctx)}
        if params.name == SEARCH:
            query = arguments.get("query")
            if not isinstance(query, str) or not query.strip():
                return text_result("Give a query: a few words saying what the tool should do.", error=True)
            limit = arguments.get("limit", tool_search.DEFAULT_LIMIT)
            limit = max(1, min(tool_search.MAX_LIMIT, limit if isinstance(limit, int) else tool_search.DEFAULT_LIMIT))
            names = [n for n in self.index(host.catalog()).ranked(query) if n in visible][:limit]
            return text_result({"tools": [tool_search.summary(visible[n]) for n in names]})
        name = arguments.get("name")
        tool = visible.get(name) if isinstance(name, str) else None
        if tool is None:
            return text_result(
                f"There is no tool named {name!r} here. Find one with {SEARCH}; use the name it returns.", error=True
            )
        if params.name == GET:
            return text_result(tool)
        assert params.name == CALL
        name, call_arguments = tool_search.call_params(arguments)
        problem = tool_search.schema_problem(tool, call_arguments)
        if problem is not None:
            return text_result(
                f"Not sent to {name}: its arguments do not match its input schema: {problem}. "
                f"See the schema with {GET}.",
                error=True,
            )
        result: dict[str, Any] = await host.call_tool(ctx, tool_search.forwarded_params(name, call_arguments))
        return result
