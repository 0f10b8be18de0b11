"""The merged view of every running child: published names, and routes back to (server, original).

Tool and prompt names follow routing/names.py (readable, valid, never two the same). Resources keep
their URIs unless two servers publish the same one; then each copy is rewritten to
`switchboard://SERVER/URI`, the server name percent-encoded so the result is a valid URI. A catalog
is an immutable snapshot, rebuilt whenever a child's lists change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote

from mcp.shared.uri_template import UriTemplate

from app.gateway.children.model import ChildLists
from app.gateway.routing.names import assign

CONFLICT_SCHEME = "switchboard://"


@dataclass(frozen=True, slots=True)
class Route:
    server: str
    name: str  # the child's own tool/prompt name, resource URI or URI template


@dataclass
class _Table:
    items: list[dict[str, Any]] = field(default_factory=list)
    routes: dict[str, Route] = field(default_factory=dict)
    published: dict[Route, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalog:
    tools: list[dict[str, Any]]
    prompts: list[dict[str, Any]]
    resources: list[dict[str, Any]]
    templates: list[dict[str, Any]]
    tool_routes: Mapping[str, Route]
    prompt_routes: Mapping[str, Route]
    resource_routes: Mapping[str, Route]
    template_routes: Mapping[str, Route]
    tool_names: Mapping[Route, str]  # route -> published name (what per-client keys list)
    _matchers: tuple[tuple[UriTemplate, str, Route], ...]  # (child template, published template, route)

    @classmethod
    def build(cls, children: Mapping[str, ChildLists], *, prefixed: bool = True) -> Catalog:
        servers = sorted(children)  # sorted: the same children always give the same names
        tools = _names(servers, children, lambda lists: lists.tools, prefixed, "tool")
        prompts = _names(servers, children, lambda lists: lists.prompts, prefixed, "prompt")
        resources = _uris(servers, children, lambda lists: lists.resources, "uri")
        templates = _uris(servers, children, lambda lists: lists.templates, "uriTemplate")
        matchers = []
        for published, route in templates.routes.items():
            try:
                matchers.append((UriTemplate.parse(route.name), published, route))
            except Exception:  # a child's malformed template just cannot be matched
                continue
        return cls(
            tools.items,
            prompts.items,
            resources.items,
            templates.items,
            tools.routes,
            prompts.routes,
            resources.routes,
            templates.routes,
            tools.published,
            tuple(matchers),
        )

    @classmethod
    def empty(cls) -> Catalog:
        return cls.build({})

    @cached_property
    def tool_by_name(self) -> dict[str, dict[str, Any]]:
        return {tool["name"]: tool for tool in self.tools}

    def servers_of_tools(self, published: frozenset[str]) -> set[str]:
        return {self.tool_routes[name].server for name in published if name in self.tool_routes}

    def route_resource(self, uri: str) -> Route | None:
        """A listed URI, a rewritten one, or one that matches a child's URI template."""
        if (route := self.resource_routes.get(uri)) is not None:
            return route
        for template, published, route in self._matchers:
            if published != route.name and uri.startswith(conflict_prefix(route.server)):
                candidate = uri.removeprefix(conflict_prefix(route.server))
                if template.match(candidate) is not None:
                    return Route(route.server, candidate)
            elif template.match(uri) is not None:
                return Route(route.server, uri)
        return None


def conflict_prefix(server: str) -> str:
    return f"{CONFLICT_SCHEME}{quote(server, safe='')}/"


def _names(
    servers: list[str],
    children: Mapping[str, ChildLists],
    pick: Callable[[ChildLists], list[dict[str, Any]]],
    prefixed: bool,
    kind: str,
) -> _Table:
    entries = [(s, item) for s in servers for item in pick(children[s]) if isinstance(item.get("name"), str)]
    names = assign(((server, item["name"]) for server, item in entries), prefixed=prefixed, kind=kind)
    table = _Table()
    for server, item in entries:
        route = Route(server, item["name"])
        if route in table.published:  # the same name twice in one child's list: the child's own mistake
            continue
        name = names[(server, item["name"])]
        table.routes[name] = route
        table.published[route] = name
        table.items.append(item if name == item["name"] else {**item, "name": name})
    return table


def _uris(
    servers: list[str], children: Mapping[str, ChildLists], pick: Callable[[ChildLists], list[dict[str, Any]]], key: str
) -> _Table:
    owners: dict[str, int] = {}
    for server in servers:
        for uri in {item.get(key) for item in pick(children[server])}:
            if isinstance(uri, str):
                owners[uri] = owners.get(uri, 0) + 1
    table = _Table()
    for server in servers:
        for item in pick(children[server]):
            uri = item.get(key)
            if not isinstance(uri, str):
                continue
            published = uri if owners[uri] == 1 else conflict_prefix(server) + uri
            if published in table.routes:
                continue
            table.routes[published] = Route(server, uri)
            table.items.append(item if published == uri else {**item, key: published})
    return table


def changed_kinds(old: Catalog, new: Catalog) -> set[str]:
    """Which lists differ: the list_changed notifications clients must get."""
    kinds = set()
    if old.tools != new.tools:
        kinds.add("tools")
    if old.prompts != new.prompts:
        kinds.add("prompts")
    if old.resources != new.resources or old.templates != new.templates:
        kinds.add("resources")
    return kinds
