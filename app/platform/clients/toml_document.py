"""TOML client files (Codex's config.toml): tomlkit parses and checks, the edits touch only our table's lines.

tomlkit alone keeps comments but leaves a stray blank line behind when a table is added and removed again,
so adding appends our `[mcp_servers.NAME]` table's text and removing cuts exactly those lines. Every new
text is parsed back with tomlkit and must mean exactly the intended result; where it does not (an entry
written as an inline table, say) the edit falls back to tomlkit's own structural edit.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.items import Table

from .document import Container, drop_member, find_block, only_member, set_member
from .model import ClientFileError, not_only_ours

_HEADER = re.compile(r"(?m)^[ \t]*\[\[?(?P<key>[^\]\n]*)\]\]?[ \t]*(?:#.*)?$")


def _parse(path: Path, text: str) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        reason = re.sub(r" at line \d+ col \d+$", "", str(exc))
        raise ClientFileError(
            f"{path} line {exc.line}, column {exc.col}: {reason}. "
            "Fix the file there and try again; Switchboard left it unchanged."
        ) from None


def _item(value: Any) -> Any:
    """Values as Codex's docs write them: tables of strings inline (`http_headers = { ... }`)."""
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        for key, inner in value.items():
            table[key] = _item(inner)
        return table
    return value


def _table(entry: dict[str, Any]) -> Table:
    table = tomlkit.table()
    for key, value in entry.items():
        table.add(key, _item(value))
    return table


def render_table(path: Container, entry: dict[str, Any]) -> str:
    """`[a.b]` and the entry's `key = value` lines."""
    header = ".".join(tomlkit.key(part).as_string() for part in path)
    body = tomlkit.document()
    for key, value in entry.items():
        body.add(key, _item(value))
    return f"[{header}]\n{body.as_string()}"


def _header_path(raw: str) -> Container | None:
    try:
        node: Any = tomlkit.parse(f"[{raw}]\n").unwrap()
    except ParseError:
        return None
    path: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        key = next(iter(node))
        path.append(key)
        node = node[key]
    return tuple(path)


class TomlDocument:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        self.doc = _parse(path, text)
        self.value: dict[str, Any] = self.doc.unwrap()

    def members(self, container: Container) -> dict[str, Any]:
        try:
            block, _ = find_block(self.value, container)
        except TypeError as exc:
            dotted, kind = exc.args
            raise ClientFileError(
                f'{self.path}: "{dotted}" is {kind}; it must be a table of servers ([{dotted}.NAME]). '
                "Fix it and try again; Switchboard left the file unchanged."
            ) from None
        return block or {}

    # -- edits ---------------------------------------------------------------------------------------------

    def with_member(self, container: Container, name: str, entry: dict[str, Any]) -> str:
        current = self.members(container)
        expected = set_member(self.value, container, name, entry)
        if name in current:
            span = self._span((*container, name))
            text = None if span is None else self._cut(span, render_table((*container, name), entry))
        else:
            text = self._append((*container, name), entry)
        return self._checked(text, expected, lambda doc: self._set(doc, container, name, entry))

    def without_member(self, container: Container, name: str, *, drop_empty: bool) -> str:
        if name not in self.members(container):
            return self.text
        # A TOML table of servers exists only through its [mcp_servers.NAME] headers: once the last one
        # goes, so does the block, whatever the caller asked.
        drop_empty = True
        expected = drop_member(self.value, container, name, drop_empty=drop_empty)
        span = self._span((*container, name))
        text = None if span is None else self._cut(span, "")

        def structural(doc: tomlkit.TOMLDocument) -> None:
            block = self._block(doc, container)
            del block[name]
            if drop_empty and len(block) == 0:
                del self._block(doc, container[:-1])[container[-1]]

        return self._checked(text, expected, structural)

    def with_only(self, container: Container, name: str, entry: dict[str, Any]) -> str:
        expected = only_member(self.value, container, name, entry)
        document = self
        for other in [n for n in self.members(container) if n != name]:
            document = TomlDocument(self.path, document.without_member(container, other, drop_empty=False))
        text = document.with_member(container, name, entry)
        if tomlkit.parse(text).unwrap() != expected:
            raise not_only_ours(self.path)
        return text

    # -- text edits ----------------------------------------------------------------------------------------

    def _span(self, path: Container) -> tuple[int, int] | None:
        """Where the table `path` (with its sub-tables) sits in the text, without the blank lines after it."""
        start = end = None
        for match in _HEADER.finditer(self.text):
            header = _header_path(match.group("key"))
            ours = header is not None and header[: len(path)] == path
            if start is None and ours:
                start = match.start()
            elif start is not None and not ours:
                end = match.start()
                break
        if start is None:
            return None
        if end is None:
            end = len(self.text)
        # Blank and comment lines before the next table belong to that table (`# docs server`).
        lines = self.text[start:end].splitlines(keepends=True)
        while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
            lines.pop()
        return start, start + sum(len(line) for line in lines)

    def _cut(self, span: tuple[int, int], replacement: str) -> str:
        start, end = span
        before, after = self.text[:start], self.text[end:]
        if not replacement and before.endswith("\n\n"):
            before = before[:-1]  # the blank line that `_append` put before our table
        return before + replacement + after

    def _append(self, path: Container, entry: dict[str, Any]) -> str:
        text = self.text
        if text and not text.endswith("\n"):
            text += "\n"
        return text + ("\n" if text else "") + render_table(path, entry)

    # -- structural edits (fallback) -----------------------------------------------------------------------

    @staticmethod
    def _block(doc: tomlkit.TOMLDocument, path: Container) -> Any:
        node: Any = doc
        for key in path:
            node = node[key]
        return node

    def _set(self, doc: tomlkit.TOMLDocument, container: Container, name: str, entry: dict[str, Any]) -> None:
        node: Any = doc
        for key in container:
            if key not in node:
                node[key] = tomlkit.table(is_super_table=True)
            node = node[key]
        node[name] = _table(entry)

    def _checked(self, text: str | None, expected: dict[str, Any], structural: Any) -> str:
        if text is not None and _meaning(text) == expected:
            return text
        doc = tomlkit.parse(self.text)
        structural(doc)
        text = tomlkit.dumps(doc)
        if _meaning(text) != expected:
            raise not_only_ours(self.path)
        return text


def _meaning(text: str) -> Any:
    try:
        return tomlkit.parse(text).unwrap()
    except ParseError:
        return None
