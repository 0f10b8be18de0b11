"""Token buckets: calls per minute with a burst, per key, per server and per glob of a server's tools.

A bucket holds up to `burst` tokens and gains `per_minute / 60` a second; a call takes one token from
every bucket that applies, or from none: when any is empty the call is refused with the limit's name
and how long until a token is back, and no other bucket loses one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

from app.config.models import RateLimit
from app.gateway.policy.refused import Refused
from app.gateway.policy.rules import Bucket

# JSON-RPC's implementation-defined server error range (-32000..-32099): the gateway's own refusals.
RATE_LIMITED = -32029


class RateLimited(Refused):
    """Refused by a rate limit; `retry_after_s` says when a token is back."""

    def __init__(self, label: str, limit: RateLimit, retry_after_s: float) -> None:
        wait = max(0.1, math.ceil(retry_after_s * 10) / 10)
        super().__init__(
            RATE_LIMITED,
            f"Refused by {label} ({limit.describe()}): retry in {wait:g} s",
            {"limit": label, "per_minute": limit.per_minute, "burst": limit.capacity, "retry_after_s": wait},
        )
        self.retry_after_s = wait


class TokenBucket:
    __slots__ = ("limit", "tokens", "updated")

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self.tokens = float(limit.capacity)
        self.updated = time.monotonic()

    def refill(self, now: float) -> None:
        rate = self.limit.per_minute / 60.0
        self.tokens = min(float(self.limit.capacity), self.tokens + max(0.0, now - self.updated) * rate)
        self.updated = now

    def wait(self) -> float:
        """Seconds until a token is there (0: one is there now)."""
        if self.tokens >= 1:
            return 0.0
        return (1 - self.tokens) / (self.limit.per_minute / 60.0)


class RateLimits:
    def __init__(self) -> None:
        self._buckets: dict[tuple[str, ...], TokenBucket] = {}

    def take(self, buckets: Iterable[Bucket]) -> None:
        """One token from each of `buckets`, or RateLimited naming the first that is empty (none taken)."""
        now = time.monotonic()
        held = []
        for bucket in buckets:
            state = self._buckets.get(bucket.key)
            if state is None or state.limit != bucket.limit:  # new, or its limit was edited: start full
                state = self._buckets[bucket.key] = TokenBucket(bucket.limit)
            state.refill(now)
            wait = state.wait()
            if wait > 0:
                raise RateLimited(bucket.label, bucket.limit, wait)
            held.append(state)
        for state in held:
            state.tokens -= 1

    def forget(self, prefix: tuple[str, ...]) -> None:
        """Drop the buckets whose key starts with `prefix` (a key revoked, a server removed)."""
        for key in [k for k in self._buckets if k[: len(prefix)] == prefix]:
            del self._buckets[key]
