"""What a client file is to a writer: a parsed value plus edits that return the file's new text.

The edits exist twice on purpose: once on plain Python values (what the file must mean afterwards) and
once on the text (what the file must look like). Each document checks that its new text parses back to
exactly the Python result before a writer may save it.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

Container = tuple[str, ...]  # the keys down to the server block, e.g. ("mcpServers",) or ("mcp_servers",)


class ServerDocument(Protocol):
    value: dict[str, Any]

    def members(self, container: Container) -> dict[str, Any]:
        """The server entries in `container` ({} when the block is absent)."""
        ...

    def with_member(self, container: Container, name: str, entry: dict[str, Any]) -> str: ...

    def without_member(self, container: Container, name: str, *, drop_empty: bool) -> str: ...

    def with_only(self, container: Container, name: str, entry: dict[str, Any]) -> str: ...


def kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return "a number"


def find_block(value: dict[str, Any], container: Container) -> tuple[dict[str, Any] | None, int]:
    """The block at `container` and how deep the path exists; a non-object on the way stops at its depth.

    Returns (block, len(container)) when found; (None, depth) when key container[depth] is missing;
    raises TypeError with the depth's dotted name when something other than an object sits on the path.
    """
    node: Any = value
    for depth, key in enumerate(container):
        if key not in node:
            return None, depth
        node = node[key]
        if not isinstance(node, dict):
            raise TypeError(".".join(container[: depth + 1]), kind_of(node))
    return node, len(container)


def set_member(value: dict[str, Any], container: Container, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(value)
    node = result
    for key in container:
        node = node.setdefault(key, {})
    node[name] = entry  # an existing key keeps its place, a new one goes last: as the text edits do
    return result


def drop_member(value: dict[str, Any], container: Container, name: str, *, drop_empty: bool) -> dict[str, Any]:
    result = copy.deepcopy(value)
    parents = []
    node = result
    for key in container:
        if key not in node:
            return result
        parents.append(node)
        node = node[key]
    node.pop(name, None)
    if drop_empty and not node and parents:
        del parents[-1][container[-1]]
    return result


def only_member(value: dict[str, Any], container: Container, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(value)
    node = result
    for key in container[:-1]:
        node = node.setdefault(key, {})
    node[container[-1]] = {name: entry}
    return result


def nest(path: Container, leaf: dict[str, Any]) -> dict[str, Any]:
    """{"a": {"b": leaf}} for path ("a", "b")."""
    for key in reversed(path):
        leaf = {key: leaf}
    return leaf
