"""The Gateway facade: start, stop, reload, toggle children, status. Owns everything in app/gateway.

It runs on whatever asyncio loop is current (plain asyncio headless, qasync in the tray) and
takes what it needs as values: the config, a key verifier, an ASGI guard, the log folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import uvicorn

from app import __version__
from app.config import ChildConfig, ConfigError, LoadedConfig, load, save, with_enabled
from app.gateway.children.supervisor import ChildState, ChildSupervisor
from app.gateway.errors import GatewayError
from app.gateway.events import CatalogChanged, EventBus, GatewayStateChanged
from app.gateway.http.app import GatewayApp, bind_socket, embedded_server, open_access
from app.gateway.routing.catalog import Catalog
from app.gateway.routing.clients import ClientInfo, Upstream
from app.gateway.routing.handlers import Router, build_server

log = logging.getLogger(__name__)
ASGIApp = Callable[..., Any]
SHUTDOWN_GRACE = 2
CONFIG_POLL = 1.0


@dataclass
class _Running:
    supervisor: ChildSupervisor
    scope: anyio.CancelScope
    done: anyio.Event


class Gateway:
    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        log_dir: Path,
        guard: Callable[[ASGIApp], ASGIApp] | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.loaded = loaded
        self.log_dir = log_dir
        self.guard = guard
        self.bus = bus or EventBus()
        self.state = "stopped"
        self.error: str | None = None
        self.host = loaded.config.gateway.host
        self.port: int | None = None
        self.upstream = Upstream(self.bus)
        self.supervisors: dict[str, ChildSupervisor] = {}
        self.catalog = Catalog.empty()
        self.child_catalogs: dict[str, Catalog] = {}
        self._running: dict[str, _Running] = {}
        self._app: GatewayApp | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stop = anyio.Event()
        self._tg: anyio.abc.TaskGroup | None = None
        self.started_at: float | None = None
        # The main key's store, set by whoever built this gateway with a guard; the panel reads and
        # rotates it. The gateway itself only ever checks keys through the guard.
        self.main_key: Any = None
        self.config_error: ConfigError | None = None  # the last bad edit of the file, until a good one

    # --- what the UI and CLI read -----------------------------------------------------------------
    @property
    def base_url(self) -> str | None:
        if self.port is None:
            return None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str | None:
        """The Streamable HTTP URL clients connect to."""
        return f"{self.base_url}/mcp" if self.base_url else None

    @property
    def config_path(self) -> Path:
        return self.loaded.path

    def children(self) -> list[ChildSupervisor]:
        return [self.supervisors[name] for name in sorted(self.supervisors)]

    def clients(self) -> list[ClientInfo]:
        return list(self.upstream.clients.values())

    def health(self) -> dict[str, Any]:
        children = {s.name: {"state": s.state.value, "tools": len(s.lists.tools)} for s in self.children()}
        enabled = [s for s in self.children() if s.config.enabled]
        if self.state != "running":
            status = self.state
        elif all(s.state == ChildState.RUNNING for s in enabled):
            status = "ok"
        else:
            status = "degraded"
        return {"status": status, "version": __version__, "children": children}

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self, sock: socket.socket | None = None) -> None:
        """Bind, start every enabled child and serve; returns once the port accepts connections."""
        if self._runner is not None:
            return
        settings = self.loaded.config.gateway
        sock = sock or bind_socket(settings.host, settings.port)
        self.host, self.port = sock.getsockname()[:2]
        self._set_state("starting")
        self._stop = anyio.Event()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._runner = asyncio.create_task(self._run(sock, ready), name="switchboard-gateway")
        try:
            await ready
        except BaseException:
            self._runner = None
            self.port = None
            raise
        self.started_at = time.time()
        self._set_state("running")

    async def stop(self) -> None:
        """Stop accepting, answer in-flight calls with an error, stop every child. Idempotent."""
        runner = self._runner
        if runner is None:
            return
        self._set_state("stopping")
        self._stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        self._runner = None
        self.port = None
        self.started_at = None
        self._set_state("stopped")

    async def _run(self, sock: socket.socket, ready: asyncio.Future[None]) -> None:
        settings = self.loaded.config.gateway
        app = GatewayApp(self.health, settings.max_body_bytes)
        self._app = app
        asgi: ASGIApp = self.guard(app) if self.guard else open_access(app)
        config = uvicorn.Config(
            asgi,
            log_config=None,
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
            ws="none",
            server_header=False,
        )
        server = embedded_server(config)
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                await app.start(tg)
                await app.add("*", build_server(self._router("*")), "")
                for name, child in self.loaded.config.mcpServers.items():
                    await self._add_child(name, child)
                served = anyio.Event()

                async def serve() -> None:
                    try:
                        await server.serve([sock])
                    finally:
                        served.set()

                tg.start_soon(serve)
                tg.start_soon(self._watch_config)
                while not server.started:
                    if served.is_set():
                        raise GatewayError("The HTTP server did not start; see the log.")
                    await anyio.sleep(0.005)
                ready.set_result(None)
                await self._stop.wait()
                server.should_exit = True  # stop accepting first
                await self._stop_all_children()  # in-flight calls get their error now
                app.stop_all()
                with anyio.move_on_after(SHUTDOWN_GRACE + 2):
                    await served.wait()
                tg.cancel_scope.cancel()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else GatewayError(str(exc)))
            if not isinstance(exc, (asyncio.CancelledError, anyio.get_cancelled_exc_class())):
                log.exception("gateway stopped on an error")
                if ready.done() and not self._stop.is_set():  # it died while serving: say so
                    self.error = f"The gateway stopped on an error: {exc}. See the log for details."
                    self._set_state("error")
        finally:
            self._tg = None
            self._app = None
            sock.close()

    # --- children ---------------------------------------------------------------------------------
    def _router(self, endpoint: str) -> Router:
        if endpoint == "*":
            return Router("*", lambda: self.supervisors, lambda: self.catalog, self.upstream, self.bus)
        return Router(
            endpoint,
            lambda: self.supervisors,
            lambda: self.child_catalogs.get(endpoint) or Catalog.empty(),
            self.upstream,
            self.bus,
        )

    async def _add_child(self, name: str, config: ChildConfig) -> None:
        supervisor = ChildSupervisor(
            name, config, bus=self.bus, log_dir=self.log_dir, relay=self.upstream, on_lists_changed=self._lists_changed
        )
        self.supervisors[name] = supervisor
        assert self._app is not None
        await self._app.add(f"child:{name}", build_server(self._router(name), name=name), f"/servers/{name}")
        if config.enabled:
            await self._start_child(supervisor)
        else:
            supervisor._set_state(ChildState.DISABLED)

    async def _start_child(self, supervisor: ChildSupervisor) -> None:
        assert self._tg is not None
        scope = anyio.CancelScope()
        done = anyio.Event()
        self._running[supervisor.name] = _Running(supervisor, scope, done)

        async def supervise() -> None:
            try:
                with scope:
                    await supervisor.run()
            except Exception as exc:  # a bug in one supervisor must not take down the gateway and the others
                log.exception("the supervisor of server %s stopped on an error", supervisor.name)
                supervisor._set_state(ChildState.FAILED, f"Switchboard stopped supervising it: {exc}. See the log.")
            finally:
                done.set()

        self._tg.start_soon(supervise)

    async def _stop_child(self, name: str) -> None:
        running = self._running.pop(name, None)
        if running is not None:
            running.scope.cancel()
            await running.done.wait()

    async def _stop_all_children(self) -> None:
        async with anyio.create_task_group() as tg:
            for name in list(self._running):
                tg.start_soon(self._stop_child, name)

    async def _remove_child(self, name: str) -> None:
        await self._stop_child(name)
        self.supervisors.pop(name, None)
        if self._app is not None:
            self._app.remove(f"child:{name}")
        self._lists_changed(name)

    async def set_enabled(self, name: str, enabled: bool) -> None:
        """Enable or disable a child: saved to the config file and applied at once."""
        if name not in self.supervisors:
            raise GatewayError(f"There is no server named '{name}' in the config.")
        raw = with_enabled(self.loaded.raw, name, enabled)
        await asyncio.to_thread(save, self.loaded.path, raw)
        self.loaded = LoadedConfig(self.loaded.path, raw, self.loaded.config.model_copy(deep=True))
        self.loaded.config.mcpServers[name].enabled = enabled
        supervisor = self.supervisors[name]
        supervisor.config = self.loaded.config.mcpServers[name]
        if not enabled:
            await self._stop_child(name)
            supervisor._set_state(ChildState.DISABLED)
        elif name not in self._running and self._tg is not None:
            await self._start_child(supervisor)

    async def restart_child(self, name: str) -> None:
        supervisor = self.supervisors.get(name)
        if supervisor is None:
            raise GatewayError(f"There is no server named '{name}' in the config.")
        if not supervisor.config.enabled:
            raise GatewayError(f"Server '{name}' is disabled; enable it first.")
        await self._stop_child(name)
        if self._tg is not None:
            await self._start_child(supervisor)

    async def reload(self) -> ConfigError | None:
        """Re-read the config file. A bad file is reported and the running config is kept."""
        try:
            loaded = await asyncio.to_thread(load, self.loaded.path)
        except ConfigError as exc:
            log.error("%s", exc)
            return exc
        await self.apply(loaded)
        return None

    async def _watch_config(self) -> None:
        """Pick up edits on disk within a second; client sessions stay connected through a reload."""
        last = _mtime(self.loaded.path)
        while True:
            await anyio.sleep(CONFIG_POLL)
            now = _mtime(self.loaded.path)
            if now != last:
                last = now
                try:
                    self.config_error = await self.reload()
                except Exception:  # a reload must never take the serving gateway down with it
                    log.exception("applying the edited config failed; the running config stays")

    async def apply(self, loaded: LoadedConfig) -> None:
        """Switch to a new config: only the children whose entry changed are restarted."""
        old = self.loaded.config.mcpServers
        new = loaded.config.mcpServers
        self.loaded = loaded
        if self._tg is None:
            return
        for name in [n for n in old if n not in new]:
            await self._remove_child(name)
        for name, child in new.items():
            if name not in old:
                await self._add_child(name, child)
            elif child != old[name]:
                await self._stop_child(name)
                supervisor = self.supervisors[name]
                supervisor.config = child
                if child.enabled:
                    await self._start_child(supervisor)
                else:
                    supervisor._set_state(ChildState.DISABLED)

    # --- the catalog ------------------------------------------------------------------------------
    def _lists_changed(self, name: str) -> None:
        running = {s.name: s.lists for s in self.supervisors.values()}
        old, self.catalog = self.catalog, Catalog.build(running)
        old_child = self.child_catalogs.get(name)
        if name in running:
            self.child_catalogs[name] = Catalog.build({name: running[name]}, prefixed=False)
        else:
            self.child_catalogs.pop(name, None)
        kinds = _changed_kinds(old, self.catalog)
        if old_child is not None and name in self.child_catalogs:
            kinds |= _changed_kinds(old_child, self.child_catalogs[name])
        if kinds and self._tg is not None:
            self._tg.start_soon(self.upstream.lists_changed, kinds, {name})
        self.bus.publish(CatalogChanged((name,)))

    def _set_state(self, state: str) -> None:
        self.state = state
        self.bus.publish(GatewayStateChanged(state, self.url, self.error))


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _changed_kinds(old: Catalog, new: Catalog) -> set[str]:
    kinds = set()
    if old.tools != new.tools:
        kinds.add("tools")
    if old.prompts != new.prompts:
        kinds.add("prompts")
    if old.resources != new.resources or old.templates != new.templates:
        kinds.add("resources")
    return kinds
