"""Published names: what clients see for a child's tool or prompt, always `^[A-Za-z0-9_-]{1,64}$`.

That pattern is what Claude, Cursor, VS Code, Codex and Copilot enforce. A name that is already valid
is kept as it is; anything else has each run of other characters replaced by one `_`, so it stays
readable (`My Server (prod)!` + `echo` → `My_Server_prod__echo`). A short hash of the original is
added only where it is needed: two originals that would publish the same name (both get one, so
neither is silently dropped) or a name past 64 characters. The same inputs always give the same names.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Iterable

log = logging.getLogger(__name__)
SEPARATOR = "__"
MAX_NAME = 64
HASH_LEN = 8
_VALID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_OTHERS = re.compile(r"[^A-Za-z0-9_-]+")


def clean(text: str) -> str:
    """`text` if valid, else with each run of other characters replaced by one `_` (and no `_` at the ends)."""
    if _VALID.match(text):
        return text
    return _OTHERS.sub("_", text).strip("_")


def _hashed(base: str, original: str, length: int = HASH_LEN) -> str:
    digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:length]
    keep = MAX_NAME - length - 1
    return f"{base[:keep]}_{digest}" if base else digest


def _untouched(server: str, name: str, prefixed: bool) -> bool:
    return clean(name) == name and (not prefixed or clean(server) == server)


def assign(
    pairs: Iterable[tuple[str, str]], *, prefixed: bool = True, kind: str = "tool"
) -> dict[tuple[str, str], str]:
    """Published names for (server, original name) pairs: readable where possible, always distinct."""
    wanted: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for server, name in sorted(set(pairs)):
        base = f"{clean(server)}{SEPARATOR}{clean(name)}" if prefixed else clean(name)
        wanted[base].append((server, name))
    names: dict[tuple[str, str], str] = {}
    for base, owners in wanted.items():
        # An original that needed no change keeps its name when it is the only one that did; the rest,
        # or all of them when two exact originals meet (a__b + c, a + b__c), get a hash.
        exact = [o for o in owners if _untouched(*o, prefixed)]
        keeper = owners[0] if len(owners) == 1 else exact[0] if len(exact) == 1 else None
        for server, name in owners:
            fits = (server, name) == keeper and _VALID.match(base) is not None
            names[(server, name)] = base if fits else _hashed(base, f"{server}\0{name}")
        if len(owners) > 1:
            log.warning(
                "%ss %s would all be published as %s; published as %s instead",
                kind,
                ", ".join(f"{name!r} of {server!r}" for server, name in owners),
                base,
                ", ".join(names[o] for o in owners),
            )
    # A hashed name equal to another's plain one: 1 in 4 billion, still never dropped.
    seen: dict[str, tuple[str, str]] = {}
    for pair in sorted(names):
        name = names[pair]
        length = HASH_LEN
        while name in seen:
            length += 4
            name = _hashed(clean(pair[0]) + SEPARATOR + clean(pair[1]) if prefixed else clean(pair[1]),
                           f"{pair[0]}\0{pair[1]}", length)
        names[pair] = name
        seen[name] = pair
    return names
