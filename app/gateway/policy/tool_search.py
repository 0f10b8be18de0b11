"""Tool search mode: instead of every tool, a client sees three gateway tools (search the catalog, get one
tool's schema, call a tool by its published name) and the tools pinned to stay visible.

The catalog is ranked with BM25 (SQLite's FTS5, in memory) over each tool's name (split into words, counted twice: names
say most), title, description, argument names and server name, stemmed and without stop words. The
index is built once per catalog (catalogs are immutable snapshots) and results are filtered by what the
caller's key may see, so a search never reveals a tool the key hides. Arguments of a call are checked
against the tool's input schema before anything is sent to its server.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import mcp_types as types
import orjson

SEARCH = "switchboard__search_tools"
GET = "switchboard__get_tool"
CALL = "switchboard__call_tool"
GATEWAY_TOOLS = frozenset({SEARCH, GET, CALL})
DEFAULT_LIMIT = 5
MAX_LIMIT = 20
_STOP_TEXT = (
    "a an and are as at be by for from how i in into is it its me my of on or that the this to was what when "
    "where which who will with you your can do does please use using"
)
STOPWORDS = frozenset(_STOP_TEXT.split())
_WORD = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])|[a-z]+|\d+")


@functools.cache
def _stemmer() -> Any:
    # Imported on first use: the stemmer costs a gateway that never searches nothing.
    import Stemmer

    return Stemmer.Stemmer("english")

LISTING: list[dict[str, Any]] = [
    {
        "name": SEARCH,
        "title": "Search tools",
        "description": (
            "Find tools of the servers behind this gateway by what you want to do. Returns the best matches, "
            "each with its name, title and description. Then get a tool's arguments with "
            f"{GET} and run it with {CALL}."
        ),
        "inputSchema": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "what the tool should do, in a few words"},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            },
            "required": ["query"],
        },
        "annotations": {"readOnlyHint": True, "openWorldHint": False},
    },
    {
        "name": GET,
        "title": "Get a tool's schema",
        "description": "The full description and input schema of one tool, by the name a search returned.",
        "inputSchema": {
            "type": "object",
            "properties": {"name": {"type": "string", "description": "the tool's name, as a search returned it"}},
            "required": ["name"],
        },
        "annotations": {"readOnlyHint": True, "openWorldHint": False},
    },
    {
        "name": CALL,
        "title": "Call a tool",
        "description": (
            "Run one tool by its name with its arguments; the arguments are checked against the tool's "
            "input schema first."
        ),
        "inputSchema": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "the tool's name, as a search returned it"},
                "arguments": {"type": "object", "description": "the tool's arguments, as its schema says"},
            },
            "required": ["name"],
        },
    },
]


def words(text: str) -> list[str]:
    """Lower-case stems of the words in `text`: `get_current_time`, `getCurrentTime` and "current times" meet."""
    found = [w.lower() for w in _WORD.findall(text)]
    stemmed: list[str] = _stemmer().stemWords([w for w in found if w not in STOPWORDS])
    return stemmed


def document(tool: dict[str, Any], server: str) -> list[str]:
    schema = tool.get("inputSchema")
    properties = schema.get("properties") if isinstance(schema, dict) else None
    arguments = " ".join(str(p) for p in properties) if isinstance(properties, dict) else ""
    name = str(tool.get("name", "")).split("__", 1)[-1]  # the server's part is counted once, below
    parts = [name, name, str(tool.get("title") or ""), str(tool.get("description") or ""), arguments, server]
    return words(" ".join(parts))


class SearchIndex:
    """BM25 over one catalog's tools: an in-memory FTS5 table of each tool's stemmed words (SQLite ships
    in every Python, so the frozen app carries no numerical library for a ranking of ~100 documents)."""

    def __init__(self, tools: Sequence[dict[str, Any]], server_of: Callable[[str], str]) -> None:
        self.names = [str(t["name"]) for t in tools]
        # Used on the gateway's loop only, but it may be built on another thread than the one that asks.
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute("CREATE VIRTUAL TABLE tools USING fts5(words, tokenize = 'unicode61')")
        self._db.executemany(
            "INSERT INTO tools(rowid, words) VALUES (?, ?)",
            ((i, " ".join(document(t, server_of(str(t["name"]))))) for i, t in enumerate(tools)),
        )

    def ranked(self, query: str) -> list[str]:
        """Every tool whose text shares a word with `query`, best first."""
        terms = list(dict.fromkeys(words(query)))  # stems are letters and digits: safe inside quotes
        if not terms:
            return []
        match = " OR ".join(f'"{term}"' for term in terms)
        rows = self._db.execute("SELECT rowid FROM tools WHERE tools MATCH ? ORDER BY bm25(tools)", (match,))
        return [self.names[rowid] for (rowid,) in rows]


def text_result(value: Any, *, error: bool = False) -> dict[str, Any]:
    text = value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}]}
    if error:
        result["isError"] = True
    elif isinstance(value, dict):
        result["structuredContent"] = value
    return result


def summary(tool: dict[str, Any]) -> dict[str, Any]:
    out = {"name": tool["name"], "title": tool.get("title") or (tool.get("annotations") or {}).get("title") or ""}
    out["description"] = str(tool.get("description") or "")
    return out


def schema_problem(tool: dict[str, Any], arguments: Any) -> str | None:
    """Why `arguments` do not fit the tool's input schema (one sentence), or None when they do."""
    schema = tool.get("inputSchema")
    if not isinstance(schema, dict):
        return None
    if not isinstance(arguments, dict):
        return "the arguments must be an object"
    import jsonschema
    from jsonschema.exceptions import best_match

    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator = validator_class(schema)
        error = best_match(validator.iter_errors(arguments))
    except (jsonschema.SchemaError, Exception):  # a child's broken schema cannot be checked: let the child judge
        return None
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message}" + (f" (at {where})" if where else "")


def call_params(arguments: dict[str, Any]) -> tuple[str, Any]:
    name = arguments.get("name")
    return (name if isinstance(name, str) else ""), arguments.get("arguments", {})


def forwarded_params(name: str, arguments: Any) -> types.CallToolRequestParams:
    return types.CallToolRequestParams(name=name, arguments=arguments if isinstance(arguments, dict) else {})
