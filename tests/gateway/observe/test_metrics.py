"""GatewayMetrics: what render() says, parsed back with prometheus_client's own text parser."""

from __future__ import annotations

from collections import Counter

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families

from app.gateway.observe import CONTENT_TYPE, GatewayMetrics
from app.gateway.observe.metrics import CHILD_STATES, DURATION_BUCKETS


def samples(metrics: GatewayMetrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample called `name` in the rendered text, keyed by its sorted labels."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            if s.name == name:
                found[tuple(sorted(s.labels.items()))] = s.value
    return found


def value(metrics: GatewayMetrics, name: str, **labels: str) -> float | None:
    return samples(metrics, name).get(tuple(sorted(labels.items())))


CALLS = [
    # server, tool, status, seconds, cached
    ("files", "files__read", "ok", 0.004, False),
    ("files", "files__read", "ok", 0.0004, True),
    ("files", "files__read", "error", 0.2, False),
    ("files", "files__write", "timed out", 120.0, False),
    ("git", "git__log", "ok", 1.5, False),
    ("git", "git__log", "cancelled", 0.03, False),
    ("git", "git__log", "refused", 0.0, False),
    ("git", "git__log", "ok", 0.0008, True),
]


def test_call_counters_match_the_calls_made() -> None:
    m = GatewayMetrics()
    for server, tool, *_ in CALLS:
        m.call_started(server, tool)
    assert value(m, "switchboard_calls_in_flight", server="files") == 4
    assert value(m, "switchboard_calls_in_flight", server="git") == 4
    for server, tool, status, seconds, cached in CALLS:
        m.call_finished(server, tool, status, seconds, cached=cached)
    m.call_started("git", "git__log")  # one still running

    made = Counter((s, t, st) for s, t, st, _, _ in CALLS)
    assert samples(m, "switchboard_calls_total") == {
        (("server", s), ("status", st), ("tool", t)): float(n) for (s, t, st), n in made.items()
    }
    failed = Counter((s, t) for s, t, st, _, _ in CALLS if st in ("error", "timed out", "refused"))
    assert samples(m, "switchboard_call_errors_total") == {
        (("server", s), ("tool", t)): float(n) for (s, t), n in failed.items()
    }
    assert value(m, "switchboard_calls_in_flight", server="files") == 0
    assert value(m, "switchboard_calls_in_flight", server="git") == 1


def test_the_duration_histogram_holds_uncached_calls_in_their_buckets() -> None:
    m = GatewayMetrics()
    for server, tool, status, seconds, cached in CALLS:
        m.call_started(server, tool)
        m.call_finished(server, tool, status, seconds, cached=cached)
    timed = [(s, t, sec) for s, t, _, sec, cached in CALLS if not cached]
    for server, tool in {(s, t) for s, t, _ in timed}:
        mine = [sec for s, t, sec in timed if (s, t) == (server, tool)]
        labels = {"server": server, "tool": tool}
        assert value(m, "switchboard_call_duration_seconds_count", **labels) == len(mine)
        assert abs(value(m, "switchboard_call_duration_seconds_sum", **labels) - sum(mine)) < 1e-9
        for bound in DURATION_BUCKETS:
            le = prometheus_client.utils.floatToGoString(bound)
            count = value(m, "switchboard_call_duration_seconds_bucket", **labels, le=le)
            assert count == sum(1 for sec in mine if sec <= bound), (server, tool, bound)
    assert DURATION_BUCKETS[0] == 0.001 and DURATION_BUCKETS[-1] == 120.0


def test_child_state_is_one_hot_per_server() -> None:
    m = GatewayMetrics()
    m.child_state("files", "starting")
    m.child_state("git", "starting")
    m.child_state("files", "running")
    m.child_state("git", "backoff")
    m.child_state("git", "quarantined")  # a state this module does not know yet still works
    states = samples(m, "switchboard_child_state")
    on = {dict(k)["server"]: dict(k)["state"] for k, v in states.items() if v == 1}
    assert on == {"files": "running", "git": "quarantined"}
    assert sum(states.values()) == 2
    assert {dict(k)["state"] for k in states if dict(k)["server"] == "files"} == set(CHILD_STATES)
    assert {dict(k)["state"] for k in states if dict(k)["server"] == "git"} == {*CHILD_STATES, "quarantined"}


def test_restarts_clients_sessions_and_the_cache() -> None:
    m = GatewayMetrics()
    for _ in range(3):
        m.child_restarted("files")
    m.child_restarted("git")
    m.clients_connected(4)
    m.clients_connected(2)
    m.sessions(7)
    for _ in range(5):
        m.cache_hit("files")
    m.cache_miss("files")
    m.cache_miss("git")
    m.cache_evict("git")
    assert samples(m, "switchboard_child_restarts_total") == {(("server", "files"),): 3.0, (("server", "git"),): 1.0}
    assert value(m, "switchboard_clients_connected") == 2
    assert value(m, "switchboard_sessions") == 7
    assert samples(m, "switchboard_cache_hits_total") == {(("server", "files"),): 5.0}
    assert samples(m, "switchboard_cache_misses_total") == {(("server", "files"),): 1.0, (("server", "git"),): 1.0}
    assert samples(m, "switchboard_cache_evictions_total") == {(("server", "git"),): 1.0}


def test_history_dropped_follows_the_stores_cumulative_count() -> None:
    m = GatewayMetrics()
    assert value(m, "switchboard_history_dropped_total") == 0
    m.history_dropped(3)
    m.history_dropped(3)  # nothing new
    m.history_dropped(10)
    assert value(m, "switchboard_history_dropped_total") == 10
    m.history_dropped(2)  # a new store counts from zero again
    assert value(m, "switchboard_history_dropped_total") == 12


def test_forgetting_a_server_drops_only_its_series() -> None:
    m = GatewayMetrics()
    for server in ("files", "git"):
        m.call_started(server, f"{server}__t")
        m.call_finished(server, f"{server}__t", "ok", 0.01)
        m.child_state(server, "running")
        m.child_restarted(server)
        m.cache_hit(server)
    m.forget_server("files")
    text = m.render().decode()
    assert 'server="files"' not in text
    for name in ("switchboard_calls_total", "switchboard_child_state", "switchboard_child_restarts_total",
                 "switchboard_cache_hits_total", "switchboard_call_duration_seconds_count"):  # fmt: skip
        assert samples(m, name), name
        assert all(dict(k)["server"] == "git" for k in samples(m, name)), name
    m.child_state("files", "starting")  # it can come back
    assert value(m, "switchboard_child_state", server="files", state="starting") == 1


def test_every_metric_is_named_and_typed_as_documented() -> None:
    m = GatewayMetrics()
    types = {f.name: f.type for f in text_string_to_metric_families(m.render().decode())}
    assert types == {
        "switchboard_calls": "counter",
        "switchboard_call_errors": "counter",
        "switchboard_call_duration_seconds": "histogram",
        "switchboard_calls_in_flight": "gauge",
        "switchboard_child_state": "gauge",
        "switchboard_child_restarts": "counter",
        "switchboard_clients_connected": "gauge",
        "switchboard_sessions": "gauge",
        "switchboard_history_dropped": "counter",
        "switchboard_cache_hits": "counter",
        "switchboard_cache_misses": "counter",
        "switchboard_cache_evictions": "counter",
    }
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")


def test_each_instance_has_its_own_registry_and_leaves_the_global_one_alone() -> None:
    a, b = GatewayMetrics(), GatewayMetrics()
    a.child_restarted("files")
    assert value(a, "switchboard_child_restarts_total", server="files") == 1
    assert value(b, "switchboard_child_restarts_total", server="files") is None
    assert b"switchboard_" not in prometheus_client.generate_latest(prometheus_client.REGISTRY)
