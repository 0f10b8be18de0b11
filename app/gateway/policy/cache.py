"""The response cache: answers of read-only calls, kept for their TTL, bounded in bytes (least recently used out).

An entry's key is (server, tool, the canonical arguments, the caller's key scope), so two keys never
share an answer unless the child itself said its answer is public (a 2026-era `cacheScope`). Entries
are stored as JSON bytes: a hit is a fresh copy (the handlers may edit a result on its way out), and
the size that bounds the cache is the size actually kept.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

PUBLIC_SCOPE = "*"  # the scope of an answer the child marked `cacheScope: "public"`

CacheKey = tuple[str, str, bytes, str]  # (server, tool or method:uri, canonical arguments, key scope)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    entries: int = 0
    bytes: int = 0


@dataclass(slots=True)
class _Entry:
    body: bytes
    expires: float


def canonical(arguments: Any) -> bytes:
    """The arguments as one byte string: the same call always gives the same key, whatever the key order."""
    try:
        return orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return repr(arguments).encode()


class ResponseCache:
    def __init__(self, max_bytes: Callable[[], int], on_count: Callable[[str, str], None] = lambda s, k: None) -> None:
        """`max_bytes()`: the bound now (hot-reloaded); `on_count(server, "hit"|"miss"|"evict")` for the metrics."""
        self.max_bytes = max_bytes
        self.on_count = on_count
        self._entries: OrderedDict[CacheKey, _Entry] = OrderedDict()
        self._bytes = 0
        self.stats: dict[str, CacheStats] = {}

    def key(self, server: str, tool: str, arguments: Any, scope: str) -> CacheKey:
        return (server, tool, canonical(arguments), scope)

    def get(self, key: CacheKey, *, public: CacheKey | None = None) -> dict[str, Any] | None:
        """A copy of the cached answer, or None (counted as a miss). `public`: the same call's shared entry."""
        now = time.monotonic()
        for candidate in (key, public):
            if candidate is None:
                continue
            entry = self._entries.get(candidate)
            if entry is None:
                continue
            if entry.expires <= now:
                self._drop(candidate)
                continue
            self._entries.move_to_end(candidate)
            self._count(key[0], "hit")
            value: dict[str, Any] = orjson.loads(entry.body)
            return value
        self._count(key[0], "miss")
        return None

    def put(self, key: CacheKey, result: dict[str, Any], ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        try:
            body = orjson.dumps(result)
        except TypeError:
            return
        limit = self.max_bytes()
        if len(body) > limit:  # larger than the whole cache: never kept, nothing else evicted for it
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = _Entry(body, time.monotonic() + ttl_s)
        self._bytes += len(body)
        self._stat(key[0]).entries += 1
        self._stat(key[0]).bytes += len(body)
        while self._bytes > limit and self._entries:
            oldest = next(iter(self._entries))
            self._drop(oldest)
            self._count(oldest[0], "evict")

    def clear(self, server: str) -> int:
        """Forget every entry of `server` (its list changed, it restarted, its config changed). Returns how many."""
        doomed = [k for k in self._entries if k[0] == server]
        for key in doomed:
            self._drop(key)
        return len(doomed)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        return self._bytes

    def _drop(self, key: CacheKey) -> None:
        entry = self._entries.pop(key)
        self._bytes -= len(entry.body)
        stat = self._stat(key[0])
        stat.entries -= 1
        stat.bytes -= len(entry.body)

    def _stat(self, server: str) -> CacheStats:
        stat = self.stats.get(server)
        if stat is None:
            stat = self.stats[server] = CacheStats()
        return stat

    def _count(self, server: str, kind: str) -> None:
        stat = self._stat(server)
        if kind == "hit":
            stat.hits += 1
        elif kind == "miss":
            stat.misses += 1
        else:
            stat.evictions += 1
        self.on_count(server, kind)
