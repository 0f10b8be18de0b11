"""Calls per second and p50/p95 latency over the last minutes, per server and overall, for the charts.

Finished calls fall into fixed time buckets (5 s over 5 minutes); each bucket keeps its count and
a bounded sample of durations, so a burst of thousands of calls costs a bounded amount of memory
and a series is computed from at most a few thousand numbers. Plain Python: no Qt here.
"""

from __future__ import annotations

import collections
import random
import time
from dataclasses import dataclass, field

BUCKET_S = 5.0
WINDOW_S = 300.0
SAMPLE = 200  # durations kept per bucket (reservoir): percentiles stay honest under a burst
ALL = ""  # the overall series


@dataclass
class _Bucket:
    count: int = 0
    durations: list[float] = field(default_factory=list)

    def add(self, ms: float, rng: random.Random) -> None:
        self.count += 1
        if len(self.durations) < SAMPLE:
            self.durations.append(ms)
        else:  # reservoir sampling: every call equally likely to be kept
            slot = rng.randrange(self.count)
            if slot < SAMPLE:
                self.durations[slot] = ms


@dataclass(frozen=True)
class Point:
    at: float  # the bucket's start, wall-clock seconds
    rate: float  # calls per second
    p50: float | None  # ms
    p95: float | None


class CallRates:
    def __init__(self, bucket_s: float = BUCKET_S, window_s: float = WINDOW_S) -> None:
        self.bucket_s = bucket_s
        self.window_s = window_s
        self._series: dict[str, collections.OrderedDict[int, _Bucket]] = {}
        self._rng = random.Random(0)
        self.version = 0  # bumped on every change, so a chart knows when to repaint

    def add(self, server: str, ended_at: float, duration_ms: float | None) -> None:
        if duration_ms is None:
            return
        slot = int(ended_at // self.bucket_s)
        for name in (ALL, server):
            buckets = self._series.setdefault(name, collections.OrderedDict())
            bucket = buckets.get(slot)
            if bucket is None:
                bucket = buckets[slot] = _Bucket()
            bucket.add(duration_ms, self._rng)
            self._trim(buckets, slot)
        self.version += 1

    def _trim(self, buckets: collections.OrderedDict[int, _Bucket], newest: int) -> None:
        oldest = newest - int(self.window_s // self.bucket_s)
        while buckets:
            first = next(iter(buckets))
            if first >= oldest:
                break
            del buckets[first]

    def count(self, server: str = ALL) -> int:
        """Calls in the window (as last trimmed)."""
        return sum(b.count for b in (self._series.get(server) or {}).values())

    def servers(self) -> list[str]:
        return sorted(name for name in self._series if name != ALL)

    def series(self, server: str = ALL, now: float | None = None) -> list[Point]:
        """One point per bucket of the window ending now (empty buckets: rate 0, no latency)."""
        now = time.time() if now is None else now
        buckets: dict[int, _Bucket] = self._series.get(server) or {}
        newest = int(now // self.bucket_s)
        points = []
        for slot in range(newest - int(self.window_s // self.bucket_s) + 1, newest + 1):
            bucket = buckets.get(slot)
            # The bucket in progress is divided by the time it has run so far, not its full length.
            span = min(self.bucket_s, max(1.0, now - slot * self.bucket_s)) if slot == newest else self.bucket_s
            if bucket is None or not bucket.count:
                points.append(Point(slot * self.bucket_s, 0.0, None, None))
                continue
            ordered = sorted(bucket.durations)
            points.append(Point(slot * self.bucket_s, bucket.count / span, _pick(ordered, 0.5), _pick(ordered, 0.95)))
        return points


def _pick(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
