"""The merged view of every running child: published names, and routes back to (server, original).

Tool and prompt names become `server__name`, always matching `^[a-zA-Z0-9_-]{1,64}$` (what
Claude, Cursor and VS Code enforce). Resources keep their URIs unless two servers publish the
same one; then each copy is rewritten to `switchboard://SERVER/URI`. A catalog is an immutable
snapshot, rebuilt whenever a child's lists change.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp.shared.uri_template import UriTemplate

from app.gateway.children.supervisor import ChildLists

SEPARATOR = "__"
MAX_NAME = 64
HASH_LEN = 8
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]")
_VALID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CONFLICT_SCHEME = "switchboard://"


def published_name(server: str, name: str, *, prefixed: bool = True) -> str:
    """The name clients see. Names that are already valid stay readable; anything sanitized or
    shortened gets a short hash of the original, so two different originals never meet."""
    original = f"{server}{SEPARATOR}{name}" if prefixed else name
    if _VALID.match(original):
        return original
    digest = hashlib.sha256(original.encode()).hexdigest()[:HASH_LEN]
    clean = _NOT_ALLOWED.sub("_", original)[: MAX_NAME - HASH_LEN - 1]
    return f"{clean}_{digest}"


@dataclass(frozen=True, slots=True)
class Route:
    server: str
    name: str  # the child's own tool/prompt name, resource URI or URI template


@dataclass
class _Table:
    items: list[dict[str, Any]] = field(default_factory=list)
    routes: dict[str, Route] = field(default_factory=dict)


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
    _matchers: tuple[tuple[UriTemplate, str, Route], ...]  # (child template, published template, route)

    @classmethod
    def build(cls, children: Mapping[str, ChildLists], *, prefixed: bool = True) -> Catalog:
        servers = sorted(children)  # sorted: the same children always give the same names
        tools = _names(servers, children, lambda lists: lists.tools, prefixed)
        prompts = _names(servers, children, lambda lists: lists.prompts, prefixed)
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
            tuple(matchers),
        )

    @classmethod
    def empty(cls) -> Catalog:
        return cls.build({})

    def route_resource(self, uri: str) -> Route | None:
        """A listed URI, a rewritten one, or one that matches a child's URI template."""
        if (route := self.resource_routes.get(uri)) is not None:
            return route
        for template, published, route in self._matchers:
            if published != route.name and uri.startswith(_conflict_prefix(route.server)):
                candidate = uri.removeprefix(_conflict_prefix(route.server))
                if template.match(candidate) is not None:
                    return Route(route.server, candidate)
            elif template.match(uri) is not None:
                return Route(route.server, uri)
        return None


def _names(
    servers: list[str],
    children: Mapping[str, ChildLists],
    pick: Callable[[ChildLists], list[dict[str, Any]]],
    prefixed: bool,
) -> _Table:
    table = _Table()
    for server in servers:
        for item in pick(children[server]):
            original = item.get("name")
            if not isinstance(original, str):
                continue
            name = published_name(server, original, prefixed=prefixed)
            if name in table.routes:  # only a 1-in-4-billion hash clash gets here; first (sorted) wins
                continue
            table.routes[name] = Route(server, original)
            table.items.append(item if name == original else {**item, "name": name})
    return table


def _conflict_prefix(server: str) -> str:
    return f"{CONFLICT_SCHEME}{server}/"


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
            published = uri if owners[uri] == 1 else _conflict_prefix(server) + uri
            if published in table.routes:
                continue
            table.routes[published] = Route(server, uri)
            table.items.append(item if published == uri else {**item, key: published})
    return table
