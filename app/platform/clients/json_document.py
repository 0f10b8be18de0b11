"""JSON and JSON-with-comments client files, edited so that everything but Switchboard's entry stays byte for byte.

Two ways to produce the new text, both checked against the meaning the edit must have:
- a file that is exactly what `json.dumps` makes of it (Claude Code's ~/.claude.json, most app-written
  files, often megabytes) is dumped again in its own style: fast, and identical outside the edit;
- any other file (comments, trailing commas, hand-made layout) is parsed with json-five's round-trip
  model, which gives every key and value its place in the text, and only those spans are rewritten.
Reading and the final check use the stdlib or pyjson5 (C, ~3000x faster than json-five's pure-Python
parser); json-five runs only to splice an edit or to say where a broken file breaks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import json5
import pyjson5
from json5 import model as j5
from json5.loader import DefaultLoader, ModelLoader

from .document import Container, drop_member, find_block, kind_of, nest, only_member, set_member
from .model import ClientFileError, not_only_ours

_TOKEN_TEXT = {
    "COMMA": "','",
    "COLON": "':'",
    "RBRACE": "'}'",
    "LBRACE": "'{'",
    "RBRACKET": "']'",
    "LBRACKET": "'['",
    "value": "a value",
}


def _parse_error(path: Path, exc: ValueError) -> ClientFileError:
    text = str(exc)
    where = re.search(r"line (\d+) column (\d+)", text)
    spot = f" line {where.group(1)}, column {where.group(2)}" if where else ""
    expecting = re.search(r"[Ww]as expecting ([A-Za-z_ ]+?)(?: in or near|$|\n)", text)
    if "UNTERMINATED" in text:
        reason = 'a string is not closed (a " is missing)'
    elif "Unexpected EOF" in text or "unexpected EOF" in text:
        reason = "the file ends too early (a closing } or ] is missing)"
    elif "multiple trailing commas" in text:
        reason = "there are two commas in a row"
    elif expecting:
        words = [_TOKEN_TEXT.get(w, w.lower()) for w in expecting.group(1).split(" or ")]
        reason = "expected " + " or ".join(words) + " here"
    else:
        reason = "this is not valid JSON"
    return ClientFileError(f"{path}{spot}: {reason}. Fix the file there and try again; Switchboard left it unchanged.")


def _span(node: j5.Node) -> tuple[int, int]:
    start = node._tok.index  # type: ignore[union-attr]
    end_tok = node._end_tok or node._tok
    return start, end_tok.end  # type: ignore[union-attr]


def _key_name(key: j5.Key) -> str:
    if isinstance(key, j5.Identifier):
        return key.name
    return key.characters  # type: ignore[attr-defined,no-any-return]


def _find(obj: j5.JSONObject, name: str) -> int | None:
    found = None
    for i, key in enumerate(obj.keys):
        if _key_name(key) == name:
            found = i  # the last one wins, as in every JSON reader
    return found


class JsonDocument:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.bom = text.startswith("\ufeff")
        body = text[1:] if self.bom else text
        self.text = body if body.strip() else "{}\n"  # an empty file is an empty object
        self.nl = "\r\n" if "\r\n" in self.text else "\n"
        self._model: j5.JSONText | None = None
        self.strict = True
        try:
            self.value = json.loads(self.text)
        except ValueError:
            self.strict = False
            try:
                self.value = pyjson5.loads(self.text)
            except pyjson5.Json5Exception:
                self.value = DefaultLoader().load(self.model)  # json-five says where it breaks, or reads it
        if not isinstance(self.value, dict):
            raise ClientFileError(
                f"{path} holds {kind_of(self.value)} at the top, not an object {{...}}; "
                "fix the file and try again; Switchboard left it unchanged."
            )

    # -- reading -------------------------------------------------------------------------------------------

    @property
    def model(self) -> j5.JSONText:
        if self._model is None:
            try:
                self._model = json5.loads(self.text, loader=ModelLoader())
            except ValueError as exc:
                raise _parse_error(self.path, exc) from None
        return self._model

    def members(self, container: Container) -> dict[str, Any]:
        try:
            block, _ = find_block(self.value, container)
        except TypeError as exc:
            dotted, kind = exc.args
            raise ClientFileError(
                f'{self.path}{self._line_of(dotted)}: "{dotted}" is {kind}; it must be an object of servers '
                "{...}. Fix it and try again; Switchboard left the file unchanged."
            ) from None
        return block or {}

    def _line_of(self, dotted: str) -> str:
        node: j5.Value = self.model.value
        for key in dotted.split("."):
            if not isinstance(node, j5.JSONObject) or (i := _find(node, key)) is None:
                return ""
            node = node.values[i]
        return f" line {node.lineno}"

    # -- edits ---------------------------------------------------------------------------------------------

    def with_member(self, container: Container, name: str, entry: dict[str, Any]) -> str:
        self.members(container)
        expected = set_member(self.value, container, name, entry)
        return self._finish(expected, lambda: self._splice_set(container, name, entry))

    def without_member(self, container: Container, name: str, *, drop_empty: bool) -> str:
        if name not in self.members(container):
            return self._with_bom(self.text)
        expected = drop_member(self.value, container, name, drop_empty=drop_empty)
        return self._finish(expected, lambda: self._splice_drop(container, name, drop_empty))

    def with_only(self, container: Container, name: str, entry: dict[str, Any]) -> str:
        self.members(container)
        expected = only_member(self.value, container, name, entry)
        return self._finish(expected, lambda: self._splice_only(container, name, entry))

    def _finish(self, expected: dict[str, Any], splice: Any) -> str:
        text = self._dump_like_file(expected)
        if text is None:
            text = splice()
        if _meaning(text) != expected:  # a bug here must never reach the user's file
            raise not_only_ours(self.path)
        return self._with_bom(text)

    def _with_bom(self, text: str) -> str:
        return "\ufeff" + text if self.bom else text

    # -- files json.dumps would write ----------------------------------------------------------------------

    def _dump_like_file(self, value: dict[str, Any]) -> str | None:
        if not self.strict or not self.value:
            return None  # `{}` fits every style: let the splice lay it out
        body = self.text.rstrip()
        tail = self.text[len(body) :]
        body = body.replace("\r\n", "\n")
        indent = re.search(r"\n([ \t]+)\S", body)
        styles: list[dict[str, Any]] = []
        if indent:
            styles.append({"indent": indent.group(1)})
        styles += [{"separators": (",", ":")}, {"separators": (", ", ": ")}]
        for style in styles:
            for ascii_only in (False, True):
                if json.dumps(self.value, ensure_ascii=ascii_only, **style) == body:
                    text = json.dumps(value, ensure_ascii=ascii_only, **style)
                    return text.replace("\n", self.nl) + tail
        return None

    # -- any other file: splice the spans the model gives ----------------------------------------------------

    def _navigate(self, container: Container) -> tuple[j5.JSONObject, Container]:
        """The deepest object on the path that exists, and the keys still missing below it."""
        node = self.model.value
        assert isinstance(node, j5.JSONObject)
        for depth, key in enumerate(container):
            i = _find(node, key)
            if i is None:
                return node, container[depth:]
            child = node.values[i]
            assert isinstance(child, j5.JSONObject)  # members() has checked the path
            node = child
        return node, ()

    def _splice_set(self, container: Container, name: str, entry: dict[str, Any]) -> str:
        obj, missing = self._navigate(container)
        if missing:
            return self._insert(obj, missing[0], nest(missing[1:], {name: entry}))
        i = _find(obj, name)
        if i is None:
            return self._insert(obj, name, entry)
        return self._replace(obj.values[i], entry, compact=self._compact(obj))

    def _splice_only(self, container: Container, name: str, entry: dict[str, Any]) -> str:
        obj, missing = self._navigate(container)
        if missing:
            return self._insert(obj, missing[0], nest(missing[1:], {name: entry}))
        parent, _ = self._navigate(container[:-1])
        return self._replace(obj, {name: entry}, compact=self._compact(parent))

    def _splice_drop(self, container: Container, name: str, drop_empty: bool) -> str:
        obj, _ = self._navigate(container)
        i = _find(obj, name)
        assert i is not None
        if drop_empty and container and len(obj.keys) == 1:
            parent, _ = self._navigate(container[:-1])
            j = _find(parent, container[-1])
            assert j is not None
            return self._remove(parent, j)
        return self._remove(obj, i)

    # -- layout ------------------------------------------------------------------------------------------------

    def _line_indent(self, pos: int) -> str:
        start = self.text.rfind("\n", 0, pos) + 1
        line = self.text[start:pos]
        return line[: len(line) - len(line.lstrip(" \t"))]

    def _unit(self) -> str:
        found = re.search(r"\n([ \t]+)\S", self.text)
        return found.group(1) if found else "  "

    def _compact(self, obj: j5.JSONObject) -> bool:
        """True when the object's members share a line with its `{` (a one-line or minified file)."""
        if obj.keys:
            start = _span(obj.keys[0])[0]
            return self.text[self.text.rfind("\n", 0, start) + 1 : start].strip() != ""
        return "\n" not in self.text

    def _render(self, value: Any, base: str, compact: bool) -> str:
        if compact:
            return json.dumps(value, ensure_ascii=False)
        return json.dumps(value, ensure_ascii=False, indent=self._unit()).replace("\n", self.nl + base)

    def _member(self, name: str, value: Any, base: str, compact: bool) -> str:
        return json.dumps(name, ensure_ascii=False) + ": " + self._render(value, base, compact)

    def _skip_gap(self, pos: int) -> int:
        """Past whitespace and comments from `pos`."""
        text = self.text
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if text.startswith("//", pos):
                end = text.find("\n", pos)
                pos = len(text) if end < 0 else end
            elif text.startswith("/*", pos):
                end = text.find("*/", pos + 2)
                pos = len(text) if end < 0 else end + 2
            else:
                return pos

    def _comma_after(self, pos: int) -> int | None:
        pos = self._skip_gap(pos)
        return pos if self.text.startswith(",", pos) else None

    def _after_line_comment(self, pos: int) -> int:
        """End of the line at `pos` when the rest of it is a comment (it stays with the member before), else pos."""
        end = self.text.find("\n", pos)
        end = len(self.text) if end < 0 else end
        rest = self.text[pos:end].strip()
        if rest.startswith("//") or (rest.startswith("/*") and rest.endswith("*/")):
            return end - 1 if self.text[end - 1 : end] == "\r" else end
        return pos

    # -- the three text edits ----------------------------------------------------------------------------------

    def _replace(self, node: j5.Value, value: Any, compact: bool) -> str:
        start, end = _span(node)
        base = self._line_indent(start)
        return self.text[:start] + self._render(value, base, compact) + self.text[end:]

    def _insert(self, obj: j5.JSONObject, name: str, value: Any) -> str:
        text, nl, compact = self.text, self.nl, self._compact(obj)
        if not obj.keys:
            lbrace, rbrace = obj._tok.index, obj._end_tok.index  # type: ignore[union-attr]
            inner = text[lbrace + 1 : rbrace]
            if compact:
                new_inner = inner.rstrip() + self._member(name, value, "", True)
            else:
                outer = self._line_indent(lbrace)
                member = self._member(name, value, outer + self._unit(), False)
                new_inner = inner.rstrip() + nl + outer + self._unit() + member + nl + outer
            return text[: lbrace + 1] + new_inner + text[rbrace:]
        indent = self._line_indent(_span(obj.keys[-1])[0])
        member = self._member(name, value, indent, compact)
        lead = " " if compact else nl + indent
        last_end = _span(obj.values[-1])[1]
        trailing = self._comma_after(last_end)
        if trailing is not None:  # `"a": 1,` then `}`: ours goes after that comma and carries its own
            at = self._after_line_comment(trailing + 1)
            return text[:at] + lead + member + "," + text[at:]
        at = self._after_line_comment(last_end)
        return text[:last_end] + "," + text[last_end:at] + lead + member + text[at:]

    def _remove(self, obj: j5.JSONObject, i: int) -> str:
        """Take member i out so that undoing `_insert` gives back the original bytes."""
        text = self.text
        key_start = _span(obj.keys[i])[0]
        value_end = _span(obj.values[i])[1]
        after = self._comma_after(value_end)
        if i > 0:
            comma = self._comma_after(_span(obj.values[i - 1])[1])
            assert comma is not None
            gap = text[comma + 1 : key_start]
            newline = gap.find("\n")
            if newline < 0 or not gap[:newline].strip():
                return text[:comma] + text[value_end:]
            # A comment follows the comma on the line before ours: it belongs to that member and stays.
            cut = comma + 1 + newline - (1 if gap[:newline].endswith("\r") else 0)
            if after is not None:
                return text[:cut] + text[after + 1 :]
            return text[:comma] + text[comma + 1 : cut] + text[value_end:]
        if len(obj.keys) > 1:
            assert after is not None
            resume = after + 1
            while resume < len(text) and text[resume] in " \t\r\n":
                resume += 1
            return text[:key_start] + text[resume:]
        end = after + 1 if after is not None else value_end
        lbrace, rbrace = obj._tok.index, obj._end_tok.index  # type: ignore[union-attr]
        inner = text[lbrace + 1 : key_start] + text[end:rbrace]
        if not inner.strip():
            inner = ""  # what we wrote into an empty {} leaves an empty {}
        return text[: lbrace + 1] + inner + text[rbrace:]


def _meaning(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return pyjson5.loads(text)
    except pyjson5.Json5Exception:
        return json5.loads(text)
