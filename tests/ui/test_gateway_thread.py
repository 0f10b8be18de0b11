"""The tray's gateway runs on its own thread and loop: it serves from there, a burst still lands in Activity,
calls made from Qt come back to Qt, and Quit ends the thread."""

from __future__ import annotations

import asyncio
import threading

import pytest
from mcp import Client

from app.gateway.events import CallFinished, CallStarted
from app.gateway.runtime import GatewayError
from tests.conftest import wait_for
from tests.ui.conftest import child_state, client_url

CLIENTS = 4
CALLS_PER_CLIENT = 50


def test_gateway_serves_from_its_own_thread_and_a_burst_lands_in_activity(desktop_factory, run, qloop):
    main = threading.get_ident()
    served_on: set[tuple[int, int]] = set()  # (thread, id of the running loop) of every call event

    async def scenario() -> None:
        async with desktop_factory() as app:
            gw = app.gateway
            assert app.host.alive and app.host.thread_id not in (None, main)
            assert app.host.loop is not qloop

            def where(event: object) -> None:  # inline on the publishing thread, as the bus runs listeners
                if isinstance(event, (CallStarted, CallFinished)):
                    served_on.add((threading.get_ident(), id(asyncio.get_running_loop())))

            unsubscribe = gw.bus.subscribe(where)
            await wait_for(lambda: child_state(app, "demo") == "running", what="the demo child")
            app.show_panel()
            app.panel.tabs.setCurrentIndex(2)  # Activity, live
            inserts: list[object] = []
            app.activity.rowsInserted.connect(lambda *args: inserts.append(args))
            reads = 0

            async def read_from_qt_meanwhile(stop: asyncio.Event) -> None:
                # The UI's reads during the burst: snapshots only, never the gateway's own dicts.
                nonlocal reads
                while not stop.is_set():
                    app.servers.refresh(force=True)
                    app.clients.refresh(force=True)
                    app.summary()
                    reads += 1
                    await asyncio.sleep(0.005)

            async def one_client(n: int) -> None:
                async with Client(client_url(app), mode="legacy") as client:
                    results = await asyncio.gather(
                        *(client.call_tool("demo__add", {"a": n, "b": i}) for i in range(CALLS_PER_CLIENT))
                    )
                    assert not any(r.is_error for r in results)

            stop = asyncio.Event()
            reader = asyncio.ensure_future(read_from_qt_meanwhile(stop))
            try:
                await asyncio.gather(*(one_client(n) for n in range(CLIENTS)))
            finally:
                stop.set()
                await reader
            unsubscribe()

            total = CLIENTS * CALLS_PER_CLIENT
            await wait_for(
                lambda: app.activity.rowCount() == total
                and all(app.activity.row_at(i).status == "ok" for i in range(total)),
                what=f"{total} finished calls in Activity",
            )
            assert {app.activity.row_at(i).target for i in range(total)} == {"demo__add"}
            assert len(inserts) < total / 10, f"{total} calls came in {len(inserts)} inserts: not batched"
            assert reads > 5

            # Every call was served on one thread, the gateway's, on its loop, not Qt's.
            assert served_on == {(app.host.thread_id, id(app.host.loop))}
            assert app.host.thread_id != main
            await wait_for(lambda: app.snapshot.server("demo").calls >= total, what="the call count in the snapshot")
        assert not app.host.alive, "Quit ends the gateway's thread"
        assert app.snapshot.state == "stopped"

    run(scenario(), timeout=60)


def test_calls_from_qt_run_on_the_gateway_loop_and_errors_come_back(desktop_factory, run):
    async def scenario() -> None:
        async with desktop_factory() as app:
            async def which_thread() -> int:
                return threading.get_ident()

            assert await app.host.call(which_thread) == app.host.thread_id != threading.get_ident()
            with pytest.raises(GatewayError, match="no server named 'nope'"):
                await app.host.call(app.gateway.restart_child, "nope")
            # A key read through the gateway loop's worker pool, as the panel does it.
            assert await app.host.to_thread(threading.get_ident) not in (app.host.thread_id, threading.get_ident())
            app.restart_child("nope")  # a slot: returns at once; the error comes back as a sentence
            await wait_for(lambda: app.last_error and "no server named 'nope'" in app.last_error)

    run(scenario())
