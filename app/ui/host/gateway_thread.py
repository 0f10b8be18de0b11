"""The gateway on its own asyncio loop in a dedicated thread, so Qt's loop is never in a call's path.

On one qasync loop every request waited for Qt's event dispatch, and the tray's tail latency was
twice the headless one with no UI work at all. Here the gateway gets what `switchboard serve`
gets: a plain asyncio loop (uvloop when importable) that does nothing else.

The Qt side talks to it only through this object:
- `await call(gateway.start)` runs a coroutine on the gateway loop and awaits it from the Qt loop
  (run_coroutine_threadsafe + wrap_future), so no Qt slot ever blocks;
- `await to_thread(fn)` runs blocking work (keyring, files) off both loops, scheduled by the gateway
  loop, for work that must reach gateway state (a key rotation updates its verifier);
- `snapshot` is the latest immutable copy of the gateway's state, taken on the gateway thread after
  events (coalesced), after every `call`, and once a second.
Gateway events are delivered on the gateway thread; the UI's feed takes them thread-safely.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from app.gateway import Gateway
from app.ui.host.snapshot import GatewaySnapshot, take_snapshot

log = logging.getLogger(__name__)
T = TypeVar("T")
SNAPSHOT_DELAY = 0.05  # a burst of events costs one snapshot per 50 ms, not one per event
SNAPSHOT_EVERY = 1.0  # state that changes without an event (stderr tails) is picked up within a second
CLOSE_TIMEOUT = 30.0


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it exists (as `switchboard serve` uses), else asyncio's default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class GatewayThread:
    def __init__(self, gateway: Gateway, *, loop_factory: Callable[[], asyncio.AbstractEventLoop] = new_loop) -> None:
        self.gateway = gateway
        self._loop_factory = loop_factory
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._thread_id: int | None = None
        self._done: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._versions = itertools.count(1)
        self._refresh_pending = False
        # Taken here, before the thread exists: nothing else touches the gateway yet.
        self.snapshot: GatewaySnapshot = take_snapshot(gateway, 0)

    # --- the thread -------------------------------------------------------------------------------
    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    @property
    def thread_id(self) -> int | None:
        return self._thread_id

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread and its loop; returns once the loop takes calls (a few ms)."""
        if self._thread is not None:
            return
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._main, args=(ready, failure), name="switchboard-gateway", daemon=True
        )
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]

    def _main(self, ready: threading.Event, failure: list[BaseException]) -> None:
        try:
            loop = self._loop_factory()
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            return
        asyncio.set_event_loop(loop)
        self._thread_id = threading.get_ident()
        self._loop = loop
        unsubscribe = self.gateway.bus.subscribe(self._on_event)
        ticker = loop.create_task(self._refresh_every(), name="switchboard-snapshots")
        ready.set()
        try:
            loop.run_forever()
        finally:
            unsubscribe()
            ticker.cancel()
            self._finish(loop)

    def _finish(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            self._refresh()
        except Exception:
            log.exception("the gateway loop did not close cleanly")
        finally:
            asyncio.set_event_loop(None)
            loop.close()
            self._done.set_result(None)

    # --- calls from the Qt side -------------------------------------------------------------------
    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._loop.is_closed() or self._done.done():
            raise RuntimeError("the gateway thread is not running")
        return self._loop

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run `await fn(*args)` on the gateway loop; await the outcome here. Its exception is re-raised here."""
        loop = self._require_loop()

        async def on_gateway_loop() -> T:
            try:
                return await fn(*args)
            finally:
                self._refresh()  # the caller sees the state this call left

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(on_gateway_loop(), loop))

    async def to_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Blocking `fn(*args)` in the gateway loop's worker pool; neither loop waits on it."""
        return await self.call(asyncio.to_thread, fn, *args)

    async def close(self) -> None:
        """Stop the gateway on its loop (calls answered, children stopped), then end the loop and the thread."""
        if self._loop is None or self._done.done():
            return
        try:
            await asyncio.wait_for(self.call(self.gateway.stop), CLOSE_TIMEOUT)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.wait_for(asyncio.wrap_future(self._done), CLOSE_TIMEOUT)
            if self._thread is not None:
                self._thread.join(1)

    def close_blocking(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """The same from outside any loop (the entry point's last resort): stop the gateway, end the thread."""
        loop = self._loop
        if loop is None or self._done.done() or loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(self.gateway.stop(), loop).result(timeout)
        except Exception:
            log.exception("could not stop the gateway cleanly")
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout)

    # --- snapshots (gateway thread) ---------------------------------------------------------------
    def _on_event(self, event: object) -> None:
        """A bus listener, inline on the gateway thread: schedule one snapshot for the burst."""
        loop = self._loop
        if loop is None or self._refresh_pending:
            return
        self._refresh_pending = True
        if threading.get_ident() == self._thread_id:
            loop.call_later(SNAPSHOT_DELAY, self._refresh)
        else:  # published from some other thread: hand it to the loop
            loop.call_soon_threadsafe(loop.call_later, SNAPSHOT_DELAY, self._refresh)

    def _refresh(self) -> None:
        self._refresh_pending = False
        try:
            snapshot = take_snapshot(self.gateway, next(self._versions))
        except Exception:
            log.exception("could not copy the gateway's state for the panel")
            return
        if not snapshot.same_as(self.snapshot):
            self.snapshot = snapshot  # one reference store: Qt sees the old snapshot or the new one

    async def _refresh_every(self) -> None:
        while True:
            await asyncio.sleep(SNAPSHOT_EVERY)
            self._refresh()
