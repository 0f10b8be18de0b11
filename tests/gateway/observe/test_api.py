"""/metrics, /api/v1/* and the live event stream through a real gateway, read by real HTTP clients."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from prometheus_client.parser import text_string_to_metric_families

from app.secrets import client_keys
from tests.conftest import running, stdio_child, wait_for, with_key

pytestmark = pytest.mark.anyio


@pytest.fixture
async def two(secured_gateway: Any) -> Any:
    services = await secured_gateway({"files": stdio_child("toy.py"), "web": stdio_child("toy.py")})
    await wait_for(running(services, "files", "web"))
    return services


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics answer, parsed by prometheus_client's own parser."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def sse_events(response: httpx2.Response) -> AsyncIterator[dict[str, Any]]:
    """Server-Sent Events off a streaming response: {"id", "event", "data"} each."""
    frame: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in frame:
                frame["data"] = json.loads(frame["data"])
                yield frame
            frame = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            frame[name] = value.removeprefix(" ")


async def test_metrics_count_the_calls_made(two: Any) -> None:
    async with Client(with_key(two), mode="legacy") as client:
        for i in range(3):
            await client.call_tool("files__echo", {"text": str(i)})
        await client.call_tool("files__fails", {})
        await client.call_tool("web__echo", {"text": "w"})
        async with httpx2.AsyncClient(base_url=two.gateway.base_url, timeout=10) as http:
            assert (await http.get("/metrics")).status_code == 401  # behind the key by default
            answer = await http.get("/metrics", headers=auth(two.main_key.value()))
            assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
            got = samples(answer.text)

    def value(name: str, **labels: str) -> float:
        return got[(name, tuple(sorted(labels.items())))]

    assert value("switchboard_calls_total", server="files", tool="files__echo", status="ok") == 3
    assert value("switchboard_calls_total", server="files", tool="files__fails", status="error") == 1
    assert value("switchboard_calls_total", server="web", tool="web__echo", status="ok") == 1
    assert value("switchboard_call_errors_total", server="files", tool="files__fails") == 1
    assert value("switchboard_call_duration_seconds_count", server="files", tool="files__echo") == 3
    assert value("switchboard_calls_in_flight", server="files") == 0
    assert value("switchboard_child_state", server="web", state="running") == 1
    assert value("switchboard_child_state", server="web", state="backoff") == 0
    assert value("switchboard_sessions") == 1  # the client above, still connected while scraped
    assert value("switchboard_clients_connected") == 1
    assert value("switchboard_history_dropped_total") == 0


async def test_metrics_public_serves_this_machine_without_a_key(secured_gateway: Any) -> None:
    services = await secured_gateway({}, metrics_public=True)
    async with httpx2.AsyncClient(base_url=services.gateway.base_url, timeout=10) as http:
        answer = await http.get("/metrics")
        assert answer.status_code == 200
        assert any(f.name == "switchboard_clients_connected" for f in text_string_to_metric_families(answer.text))
        assert (await http.get("/api/v1/calls")).status_code == 401  # only /metrics became public
        assert (await http.get("/metrics", headers={"Host": "evil.example"})).status_code == 403  # Host still checked

    # Turned off again in the file: the key is needed from the next request on.
    await anyio.to_thread.run_sync(services.config.update, lambda raw: raw["gateway"].update(metrics_public=False))
    async with httpx2.AsyncClient(base_url=services.gateway.base_url, timeout=10) as http:
        assert (await http.get("/metrics")).status_code == 401


async def test_calls_api_filters_and_pages(two: Any) -> None:
    async with Client(with_key(two), mode="legacy") as client:
        for i in range(5):
            await client.call_tool("files__echo", {"text": f"call {i}"})
        await client.call_tool("web__echo", {"text": "web"})
    assert await anyio.to_thread.run_sync(two.history.flush)
    async with httpx2.AsyncClient(base_url=two.gateway.base_url, headers=auth(two.main_key.value())) as http:
        first = (await http.get("/api/v1/calls", params={"server": "files", "limit": 3})).json()
        assert [c["arguments"]["text"] for c in first["calls"]] == ["call 4", "call 3", "call 2"]
        rest = (await http.get("/api/v1/calls", params={"server": "files", "before": first["next_before"]})).json()
        assert [c["arguments"]["text"] for c in rest["calls"]] == ["call 1", "call 0"]
        assert rest["next_before"] is None
        assert [c["tool"] for c in (await http.get("/api/v1/calls", params={"q": "WEB"})).json()["calls"]] == [
            "web__echo"
        ]
        bad = await http.get("/api/v1/calls", params={"since": "yesterday-ish"})
        assert bad.status_code == 400 and "10m" in bad.json()["message"]
        assert (await http.get("/api/v1/calls", params={"limit": "0"})).status_code == 400
        servers = (await http.get("/api/v1/servers")).json()["servers"]
        assert [(s["name"], s["state"]) for s in servers] == [("files", "running"), ("web", "running")]
        assert (await http.get("/api/v1/nothing")).status_code == 404


async def test_a_per_client_key_sees_only_its_own(two: Any) -> None:
    key = client_keys.add(two.config, "cursor", servers=["files"])
    async with Client(with_key(two), mode="legacy") as main_client:
        await main_client.call_tool("files__echo", {"text": "main's call"})
        async with Client(with_key(two, key=key), mode="legacy") as cursor:
            await cursor.call_tool("files__echo", {"text": "cursor's call"})
            assert await anyio.to_thread.run_sync(two.history.flush)
            async with httpx2.AsyncClient(base_url=two.gateway.base_url, headers=auth(key), timeout=10) as http:
                calls = (await http.get("/api/v1/calls", params={"key": "main"})).json()["calls"]
                assert [c["arguments"]["text"] for c in calls] == ["cursor's call"]
                assert [s["name"] for s in (await http.get("/api/v1/servers")).json()["servers"]] == ["files"]
                clients = (await http.get("/api/v1/clients")).json()["clients"]
                assert [c["key_name"] for c in clients] == ["cursor"]
                assert (await http.get("/metrics")).status_code == 403
            async with httpx2.AsyncClient(base_url=two.gateway.base_url, headers=auth(two.main_key.value())) as http:
                clients = (await http.get("/api/v1/clients")).json()["clients"]
                assert sorted(c["key_name"] for c in clients) == ["cursor", "main"]


async def test_event_stream_replays_after_a_reconnect_with_last_event_id(two: Any) -> None:
    key = client_keys.add(two.config, "cursor", servers=["files"])
    seen: list[dict[str, Any]] = []
    cursor_seen: list[dict[str, Any]] = []
    async with httpx2.AsyncClient(base_url=two.gateway.base_url, timeout=httpx2.Timeout(10, read=30)) as http:

        async def follow(headers: dict[str, str], into: list[dict[str, Any]], until: int) -> None:
            async with http.stream("GET", "/api/v1/events", headers=headers) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                async for event in sse_events(response):
                    into.append(event)
                    if sum(e["event"] == "call" for e in into) >= until:
                        return

        async with Client(with_key(two), mode="legacy") as client, anyio.create_task_group() as tg:
            tg.start_soon(follow, auth(two.main_key.value()), seen, 2)
            tg.start_soon(follow, auth(key), cursor_seen, 1)
            await wait_for(lambda: two.observability.stream.subscribers == 2)
            await client.call_tool("files__echo", {"text": "one"})
            await client.call_tool("web__echo", {"text": "two"})
            async with Client(with_key(two, key=key), mode="legacy") as cursor:
                await cursor.call_tool("files__echo", {"text": "cursor's"})

        calls = [e["data"] for e in seen if e["event"] == "call"]
        assert [(c["tool"], c["arguments"]["text"], c["status"]) for c in calls] == [
            ("files__echo", "one", "ok"), ("web__echo", "two", "ok"),
        ]  # fmt: skip
        assert any(e["event"] == "call_started" for e in seen)
        assert [e["data"]["arguments"]["text"] for e in cursor_seen if e["event"] == "call"] == ["cursor's"]
        assert all(e["data"].get("key_name") in (None, "cursor") for e in cursor_seen)

        # Disconnected after the second call: the third (cursor's) happened while away. Reconnect and resume.
        last_id = seen[-1]["id"]
        assert int(last_id) == seen[-1]["data"]["id"]
        replayed: list[dict[str, Any]] = []
        with anyio.fail_after(20):
            await follow({**auth(two.main_key.value()), "Last-Event-ID": last_id}, replayed, 1)
        assert replayed[0]["event"] != "replay_gap"
        assert all(int(e["id"]) > int(last_id) for e in replayed)
        assert [e["data"]["arguments"]["text"] for e in replayed if e["event"] == "call"] == ["cursor's"]


async def test_event_stream_ends_when_the_gateway_stops(two: Any) -> None:
    async with httpx2.AsyncClient(base_url=two.gateway.base_url, timeout=httpx2.Timeout(10, read=30)) as http:
        with anyio.fail_after(20):
            async with http.stream("GET", "/api/v1/events", headers=auth(two.main_key.value())) as response:
                await wait_for(lambda: two.observability.stream.subscribers == 1)
                await two.gateway.stop()
                kinds = [e["event"] async for e in sse_events(response)]
    assert "gateway" in kinds
