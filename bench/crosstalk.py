"""Do answers reach their caller? Two legacy SSE clients whose JSON-RPC ids coincide, as real clients' do.

Every client numbers its requests from 0 or 1, so two clients of one gateway send the same ids. A
gateway that writes every session's requests to one shared child without renumbering them, and
sends each answer to every session, hands a client the other's answer. The load generator avoids
that with ids unique across the process (sessions._PROCESS_IDS); this check uses real clients' ids.
"""

from __future__ import annotations

import asyncio
import itertools

from bench.peers import SSE
from bench.report import Row
from bench.scenarios import Bench, describe
from bench.sessions import SseSession
from bench.targets import SWITCHBOARD, Target

CALLS = 20  # pairs of simultaneous calls, one from each client


async def wrong_answers(target: Target) -> tuple[int, int]:
    """(answers that were not the caller's own, calls made) for two clients with ids 1, 2, 3, …"""
    first = SseSession(target.urls[SSE], key=target.key, ids=itertools.count(1))
    second = SseSession(target.urls[SSE], key=target.key, ids=itertools.count(1))
    try:
        await first.open()
        await second.open()
        wrong = 0
        for index in range(CALLS):
            texts = (f"first-{index}", f"second-{index}")
            calls = (c.call(target.tool("echo"), {"text": t}) for c, t in zip((first, second), texts, strict=True))
            answers = await asyncio.gather(*calls, return_exceptions=True)
            for answer, text in zip(answers, texts, strict=True):
                wrong += isinstance(answer, BaseException) or answer["content"][0]["text"] != text
        return wrong, CALLS * 2
    finally:
        await first.close()
        await second.close()


async def crosstalk_rows(bench: Bench) -> list[Row]:
    figures: dict[str, str] = {}
    counts: dict[str, tuple[int, int]] = {}
    for target in bench.targets:
        if SSE not in target.urls:
            continue
        try:
            wrong, calls = await asyncio.wait_for(wrong_answers(target), 30)
        except Exception as exc:
            figures[target.name] = f"failed: {describe(exc)}"
            continue
        counts[target.name] = (wrong, calls)
        figures[target.name] = (
            f"{wrong}/{calls} answers wrong (another client's, or none)" if wrong else f"all {calls} answers right"
        )
    sb = counts.get(SWITCHBOARD)
    return [
        Row(
            f"two legacy SSE clients with the same request ids, {CALLS} calls each at once: answers reach their caller",
            switchboard=figures.get(SWITCHBOARD, ""),
            peers=bench.peer_cells(figures, SSE),
            errors=f"{sb[0]}/{sb[1]}" if sb else "",
            goals=[("each answer to its caller", sb is not None and sb[0] == 0)],
            data={"wrong": counts},
        )
    ]
