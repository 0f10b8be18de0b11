"""The fast lane to stdio children gives exactly what the SDK's path gives, and takes the calls it should."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from tests.conftest import PYTHON, SHARED, running, stdio_child, wait_for

pytestmark = pytest.mark.anyio
FIXTURE = SHARED / "conformance" / "server.py"
CALLS = [
    ("conf__test_simple_text", {}),
    ("conf__test_image_content", {}),
    ("conf__test_audio_content", {}),
    ("conf__test_embedded_resource", {}),
    ("conf__test_multiple_content_types", {}),
    ("conf__test_error_handling", {}),
    ("toy__echo", {"text": "ünïcødé ✓ 日本語 \\n \"quotes\" \u0000"}),
    ("toy__blob", {"kib": 3000}),
    ("toy__fails", {}),
    ("toy__nope", {}),
]


async def answers(client: Client) -> list[object]:
    seen: list[object] = []
    for name, args in CALLS:
        try:
            seen.append((await client.call_tool(name, args)).model_dump(mode="json", by_alias=True))
        except Exception as exc:  # a JSON-RPC error is an answer too: it must be the same one
            seen.append(f"{type(exc).__name__}: {exc}")
    return seen


@pytest.mark.skipif(not FIXTURE.exists(), reason="../shared/conformance is beside the repo")
async def test_the_fast_lane_answers_exactly_as_the_sdk_path(gateway_factory):
    gw = await gateway_factory({"conf": {"command": PYTHON, "args": [str(FIXTURE)]}, "toy": stdio_child("toy.py")})
    await wait_for(running(gw, "conf", "toy"))
    lanes = {name: gw.supervisors[name]._lane for name in ("conf", "toy")}
    async with Client(gw.url, mode="legacy") as client:
        fast = await answers(client)
        assert all(lane.sent > 0 for lane in lanes.values())  # those calls took the lane
        for name in lanes:
            gw.supervisors[name]._fast = False  # the SDK's path, for the same calls
        sent = {name: lane.sent for name, lane in lanes.items()}
        slow = await answers(client)
        assert {name: lane.sent for name, lane in lanes.items()} == sent
    assert fast == slow


async def test_concurrent_calls_on_one_session_each_get_their_own_answer(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py")})
    await wait_for(running(gw, "toy"))
    async with Client(gw.url, mode="legacy") as client:
        results = await echo_concurrently(client, 40)
    assert results == [f"n{i}" for i in range(40)]
    assert gw.supervisors["toy"]._lane.sent >= 40


async def echo_concurrently(client: Client, n: int) -> list[str]:
    out: list[str] = [""] * n

    async def one(i: int) -> None:
        out[i] = (await client.call_tool("toy__echo", {"text": f"n{i}"})).content[0].text

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
    return out


async def test_a_call_that_wants_progress_takes_the_sdks_path(gateway_factory):
    gw = await gateway_factory({"toy": stdio_child("toy.py")})
    await wait_for(running(gw, "toy"))
    lane = gw.supervisors["toy"]._lane
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with Client(gw.url, mode="legacy") as client:
        before = lane.sent
        await client.call_tool("toy__slow", {"seconds": 0.1}, progress_callback=on_progress)
    assert lane.sent == before and progress == [0, 1, 2, 3]
