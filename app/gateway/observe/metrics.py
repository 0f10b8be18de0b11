"""The gateway's Prometheus metrics, on a registry of their own (never the process-global one,
so two gateways in one process, or a test, never share counters).

The gateway's bus subscribers call these methods; each is a dict lookup and an add under the
library's own lock, cheap enough to run inline on the loop. `render()` is what /metrics serves,
with `CONTENT_TYPE`.

Label values come from the gateway's catalog (configured servers, published tool names), never
from what a client sent, so the number of series stays bounded by the configuration.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import Metric

# The text format generate_latest() writes by default (the library pairs it with this type).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# A cached answer takes about a millisecond; a slow tool (a build, a crawl) up to the default 120 s timeout.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# Every state a child can be in, so each server's one-hot gauge always has all of them.
CHILD_STATES = ("starting", "running", "backoff", "stopped", "failed", "disabled")
# Statuses that are the call's failure; "cancelled" is the client's choice, not an error.
ERROR_STATUSES = frozenset({"error", "timed out", "refused"})


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._calls = Counter(
            "switchboard_calls", "Calls finished, by server, tool and status.", ["server", "tool", "status"], registry=r
        )
        self._errors = Counter(
            "switchboard_call_errors",
            "Calls that ended in an error, a timeout or a refusal.",
            ["server", "tool"],
            registry=r,
        )
        self._duration = Histogram(
            "switchboard_call_duration_seconds",
            "How long calls answered by a child took, seconds (cache hits excluded).",
            ["server", "tool"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self._in_flight = Gauge(
            "switchboard_calls_in_flight", "Calls started and not finished.", ["server"], registry=r
        )
        self._child_state = Gauge(
            "switchboard_child_state",
            "1 for the state each server is in, 0 for the others.",
            ["server", "state"],
            registry=r,
        )
        self._restarts = Counter("switchboard_child_restarts", "Times a server was restarted.", ["server"], registry=r)
        self._clients = Gauge("switchboard_clients_connected", "AI clients connected now.", registry=r)
        self._sessions = Gauge("switchboard_sessions", "Open MCP sessions (both eras, all transports).", registry=r)
        self._history_dropped = Counter(
            "switchboard_history_dropped", "History records dropped (queue full or write failed).", registry=r
        )
        self._cache_hits = Counter("switchboard_cache_hits", "Calls answered from the cache.", ["server"], registry=r)
        self._cache_misses = Counter(
            "switchboard_cache_misses", "Cacheable calls not in the cache.", ["server"], registry=r
        )
        self._cache_evictions = Counter("switchboard_cache_evictions", "Cache entries evicted.", ["server"], registry=r)
        self._states: dict[str, set[str]] = {}
        self._history_dropped_seen = 0

    # -- calls -----------------------------------------------------------------------------------

    def call_started(self, server: str, tool: str) -> None:
        self._in_flight.labels(server).inc()

    def call_finished(self, server: str, tool: str, status: str, seconds: float, cached: bool = False) -> None:
        """A call ended (every call_started has one). `seconds` is its duration; cached answers skip the histogram."""
        self._in_flight.labels(server).dec()
        self._calls.labels(server, tool, status).inc()
        if status in ERROR_STATUSES:
            self._errors.labels(server, tool).inc()
        if not cached:
            self._duration.labels(server, tool).observe(seconds)

    # -- children --------------------------------------------------------------------------------

    def child_state(self, server: str, state: str) -> None:
        """`server` is now in `state`: its series for `state` becomes 1 and every other state's 0."""
        states = self._states.setdefault(server, set(CHILD_STATES))
        states.add(state)
        for s in states:
            self._child_state.labels(server, s).set(1 if s == state else 0)

    def child_restarted(self, server: str) -> None:
        self._restarts.labels(server).inc()

    def forget_server(self, server: str) -> None:
        """A server left the configuration: drop its series, so /metrics does not report it forever."""
        self._states.pop(server, None)
        for metric in (
            self._calls, self._errors, self._duration, self._in_flight, self._child_state, self._restarts,
            self._cache_hits, self._cache_misses, self._cache_evictions,
        ):  # fmt: skip
            metric.remove_by_labels({"server": server})

    # -- the gateway -----------------------------------------------------------------------------

    def clients_connected(self, n: int) -> None:
        self._clients.set(n)

    def sessions(self, n: int) -> None:
        self._sessions.set(n)

    def history_dropped(self, total: int) -> None:
        """The history store's `dropped` count (cumulative). A count lower than the last one means a new store."""
        seen = self._history_dropped_seen
        self._history_dropped.inc(total - seen if total >= seen else total)
        self._history_dropped_seen = total

    # -- the cache -------------------------------------------------------------------------------

    def cache_hit(self, server: str) -> None:
        self._cache_hits.labels(server).inc()

    def cache_miss(self, server: str) -> None:
        self._cache_misses.labels(server).inc()

    def cache_evict(self, server: str) -> None:
        self._cache_evictions.labels(server).inc()

    def render(self) -> bytes:
        """The text exposition of every metric, to serve with `CONTENT_TYPE`."""
        return generate_latest(_WithoutCreated(self.registry))


class _WithoutCreated:
    """The registry's metrics without their `_created` samples.

    The 0.0.4 text format has no place for them, so the library writes each as an extra gauge
    series (`switchboard_calls_created{...}`), doubling the series a scraper stores for nothing
    it asked for. The library's switch for this is process-global; this keeps it to our registry.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():  # fresh Metric objects on every collect
            family.samples = [s for s in family.samples if not s.name.endswith("_created")]
            yield family
