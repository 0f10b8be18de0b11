"""UI fixtures: a QApplication with an explicit qasync loop (as app/main does), and a live DesktopApp.

Tests are plain functions that drive the Qt loop with `run(coro)`; the SDK clients run on it, and
the DesktopApp starts the gateway on its own thread and loop, exactly as in the shipped app. Tests
read the gateway's state as the UI does, from its snapshot (`app.snapshot`, `child_state`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from tests.conftest import demo_child, wait_for, write_config

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
Run = Callable[..., Any]


@pytest.fixture(autouse=True)
def collect_on_the_gui_thread() -> Iterator[None]:
    """Free what a test's Qt objects leave behind here, on the GUI thread. Left to the cyclic collector they
    are freed on whichever thread next triggers a collection (the next test's gateway or stderr thread), and
    a widget destroyed off the GUI thread crashes Qt later (one segfault seen in a loaded run)."""
    yield
    gc.collect()


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def run(qloop: asyncio.AbstractEventLoop) -> Run:
    def run(coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:  # generous: the machine is shared
        return qloop.run_until_complete(asyncio.wait_for(coro, timeout))

    return run


def child_state(app: Any, name: str) -> str | None:
    """A child's state as the UI knows it: from the snapshot the gateway thread last took."""
    row = app.snapshot.server(name)
    return row.state if row is not None else None


@pytest.fixture
def desktop_factory(qloop: asyncio.AbstractEventLoop, tmp_path: Path) -> Callable[..., Any]:
    """`async with desktop_factory(servers) as app:` a DesktopApp on a real gateway (port 0), run as app/main does.

    The app lives only inside the running loop, as in production: pytest-qt pumps Qt events between
    test phases, outside the loop, and the gateway must not be alive then.
    """
    from app.launch import build_services
    from app.ui.desktop import DesktopApp

    count = itertools.count()

    @contextlib.asynccontextmanager
    async def make(
        servers: dict[str, Any] | None = None, *, keys: Any = None, tray: bool = True, **gateway: Any
    ) -> AsyncIterator[Any]:
        servers = {"demo": demo_child()} if servers is None else servers
        path = write_config(tmp_path / f"app-{next(count)}" / "config.json", servers, **gateway)
        services = build_services(path)
        app = DesktopApp(services, keys, tray_available=tray)  # keys None: the main key, as the tray uses it
        task = asyncio.ensure_future(app.run())
        try:
            await wait_for(lambda: app.snapshot.state == "running" or app.last_error or task.done(),
                        what="the gateway to start")
            await asyncio.sleep(0)
            yield app
        finally:
            app.request_quit()
            assert await asyncio.wait_for(task, 15) == 0
            services.close()

    return make


def client_url(app: Any, path: str = "/mcp", key: str | None = None) -> str:
    """The URL an SDK client uses, with the API key in the query (`app`: the DesktopApp)."""
    return f"{app.snapshot.base_url}{path}?api_key={key or app.services.main_key.value()}"


async def save_png(widget: Any, name: str) -> Path:
    """Render a widget into tests/artifacts/ once Qt has laid it out: a few turns of the loop hand Qt its
    pending layout events (processEvents() here would re-enter qasync's loop)."""
    for _ in range(5):
        await asyncio.sleep(0)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    assert widget.grab().save(str(path)), f"could not write {path}"
    return path
