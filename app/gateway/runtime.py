"""The Gateway facade: start, stop, follow config changes, toggle children, status. Owns everything in app/gateway.

It runs on whatever asyncio loop is current (uvloop headless, its own thread in the tray) and takes
what it needs as values: a config source (the config store), an ASGI guard, the log folder. It never
reads a file itself: the config source tells it of changes, and it applies them on its own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio

from app.config.models import POLICY_FIELDS, ChildConfig, Config, ConfigChanged, ConfigError, LoadedConfig
from app.gateway.children.fleet import Fleet
from app.gateway.children.oauth import ChildCredentials
from app.gateway.children.prestarted import Prestarted
from app.gateway.children.sign_in import SIGN_IN_TIMEOUT_S, OpenUrl, SignedIn
from app.gateway.children.sign_ins import RemoteSignIns
from app.gateway.children.supervisor import ChildSupervisor
from app.gateway.children.tokens import TokenStore
from app.gateway.config_source import ConfigSource
from app.gateway.endpoints import endpoint
from app.gateway.errors import GatewayError
from app.gateway.events import CatalogChanged, ConfigApplied, EventBus, GatewayStateChanged
from app.gateway.health import health_body, starting_up
from app.gateway.http.app import GatewayApp
from app.gateway.http.credentials import PREFIX as CREDENTIALS_PREFIX
from app.gateway.http.credentials import credentials_routes
from app.gateway.http.serving import SHUTDOWN_GRACE, bind_socket, gateway_server
from app.gateway.policy import CallPolicy
from app.gateway.policy.admin_api import PREFIX as APPROVALS_PREFIX
from app.gateway.policy.admin_api import approvals_route
from app.gateway.policy.edits import EditError, RawChange
from app.gateway.routing.catalog import Catalog, changed_kinds
from app.gateway.routing.clients import ClientInfo, ConnectedClients

log = logging.getLogger(__name__)
ASGIApp = Callable[..., Any]
Guard = Callable[[ASGIApp], ASGIApp]


class Gateway:
    def __init__(
        self,
        config: ConfigSource,
        *,
        log_dir: Path,
        guard: Guard,
        bus: EventBus | None = None,
        tokens: TokenStore | None = None,
        prestarted: Mapping[str, Prestarted] | None = None,
    ) -> None:
        """`guard` wraps the HTTP app: the API key and Host/Origin checks as users run it, or
        `http.serving.open_access` (tests, embedding), which must be asked for by name. `tokens`: where
        remote servers' sign-ins are kept (None: nowhere; a server that asks for OAuth needs a sign-in).
        `prestarted`: stdio servers already spawned by name (app/prestart.py), for their first start."""
        self.config = config
        self.log_dir = log_dir
        self.guard = guard
        self.bus = bus or EventBus()
        self.state = "stopped"
        self.error: str | None = None
        self.applied: Config = config.current.config  # the config the running children follow
        self.host = self.applied.gateway.host
        self.port: int | None = None
        self.connected = ConnectedClients(self.bus, roots=self._configured_roots)
        self.supervisors: dict[str, ChildSupervisor] = {}
        self.catalog = Catalog.empty()
        self.child_catalogs: dict[str, Catalog] = {}
        self.fleet = Fleet(self.supervisors)
        self._prestarted = dict(prestarted or {})
        self._app: GatewayApp | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stop = anyio.Event()
        self._tg: anyio.abc.TaskGroup | None = None
        self._apply_lock = anyio.Lock()
        self._unsubscribe: Callable[[], None] | None = None
        self.started_at: float | None = None
        # Limits, the cache, tool search and approvals: between the router and the children.
        self.policy = CallPolicy(lambda: self.applied, self.supervisors, self.bus, self.write_config)
        # More HTTP routes by path prefix (the admin API, /metrics), served behind the guard. Add before start().
        self.tokens = tokens
        self.credentials = ChildCredentials(tokens)
        self.sign_ins = RemoteSignIns(tokens, self.supervisors, lambda: self.applied, self.restart_child,
                                      lambda: self._tg is not None)
        self.routes: dict[str, ASGIApp] = {
            APPROVALS_PREFIX: approvals_route(self.policy.approvals.pending, self.policy.answer),
            CREDENTIALS_PREFIX: credentials_routes(self.sign_ins.changed),
        }

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
    def loaded(self) -> LoadedConfig:
        return self.config.current

    @property
    def config_path(self) -> Path:
        return self.config.path

    @property
    def config_error(self) -> ConfigError | None:
        return self.config.error

    def children(self) -> list[ChildSupervisor]:
        return [self.supervisors[name] for name in sorted(self.supervisors)]

    def clients(self) -> list[ClientInfo]:
        return list(self.connected.clients.values())

    def starting_up(self) -> bool:
        """Some enabled server has not finished its first start yet."""
        return starting_up(self.supervisors.values())

    def health(self) -> dict[str, Any]:
        return health_body(self.state, self.children(), config_broken=self.config.error is not None)

    async def wait_until_started(self, timeout: float | None = None) -> None:
        """Wait (bounded by `gateway.startup_wait_s`) until every enabled server's first start is over,
        so a client's first list is complete: Claude Desktop and Claude Code ignore list_changed."""
        limit = self.applied.gateway.startup_wait_s if timeout is None else timeout
        with anyio.move_on_after(limit):
            for supervisor in list(self.supervisors.values()):
                if supervisor.enabled:
                    await supervisor.first_start.wait()

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self, sock: socket.socket | None = None) -> None:
        """Bind, start every enabled child and serve; returns once the port accepts connections."""
        if self._runner is not None:
            return
        self.applied = self.config.current.config
        settings = self.applied.gateway
        sock = sock or bind_socket(settings.host, settings.port)
        self.host, self.port = sock.getsockname()[:2]
        self.error = None
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
        settings = self.applied.gateway
        app = GatewayApp(self.health, settings, self.routes)
        self._app = app
        server = gateway_server(self.guard(app), lambda: self.applied.gateway)
        loop = asyncio.get_running_loop()
        try:
            async with anyio.create_task_group() as tg:
                self._tg = self.fleet.task_group = tg
                await app.start(tg)
                await app.add("*", *endpoint(self, "*"), "")
                for name in self._all_names(self.applied):
                    await self._add_child(name, self.applied)
                for unused in self._prestarted.values():  # the config no longer has it: not ours to keep
                    unused.discard()
                self._prestarted.clear()
                served = anyio.Event()

                async def serve() -> None:
                    try:
                        await server.serve([sock])
                    finally:
                        served.set()

                tg.start_soon(serve)

                def on_change(event: ConfigChanged) -> None:  # on the store's thread: hop to ours
                    loop.call_soon_threadsafe(self._config_changed, event)

                self._unsubscribe = self.config.subscribe(on_change)
                while not server.started:
                    if served.is_set():
                        raise GatewayError("The HTTP server did not start; see the log.")
                    await anyio.sleep(0.005)
                ready.set_result(None)
                await self._stop.wait()
                server.should_exit = True  # stop accepting first
                await self.fleet.stop_all()  # in-flight calls get their error now
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
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            self._tg = self.fleet.task_group = None
            self._app = None
            sock.close()

    # --- children ---------------------------------------------------------------------------------
    @staticmethod
    def _all_names(config: Config) -> list[str]:
        return sorted({*config.mcpServers, *config.invalid})

    def _configured_roots(self, server: str) -> list[str]:
        child = self.applied.mcpServers.get(server)
        return list(child.roots) if child is not None else []

    def call_timeout(self, server: str) -> float:
        child = self.applied.mcpServers.get(server)
        if child is not None and child.timeout_s is not None:
            return child.timeout_s
        return self.applied.gateway.call_timeout_s

    async def _add_child(self, name: str, config: Config) -> None:
        child = config.mcpServers.get(name)
        supervisor = ChildSupervisor(
            name,
            child,
            bus=self.bus,
            log_dir=self.log_dir,
            relay=self.connected,
            on_lists_changed=self._lists_changed,
            settings=lambda: self.applied.gateway,
            invalid=config.invalid.get(name),
            credentials=self.credentials,
        )
        supervisor.prestarted = self._prestarted.pop(name, None)
        self.supervisors[name] = supervisor
        if supervisor.invalid is not None:
            log.warning("Server %s cannot start: %s", name, supervisor.invalid)
        assert self._app is not None
        await self._app.add(f"child:{name}", *endpoint(self, name), f"/servers/{name}")
        if child is not None and child.enabled:
            self.fleet.start(supervisor)

    async def _remove_child(self, name: str) -> None:
        await self.fleet.stop(name)
        self.supervisors.pop(name, None)
        if self._app is not None:
            self._app.remove(f"child:{name}")
        self._lists_changed(name)

    async def set_enabled(self, name: str, enabled: bool) -> None:
        """Enable or disable a child: saved to the config file (through the store's lock) and applied at once."""
        if name not in self.supervisors:
            raise GatewayError(f"There is no server named '{name}' in the config.")
        try:
            loaded = await anyio.to_thread.run_sync(self.config.set_enabled, name, enabled)
        except ConfigError as exc:
            raise GatewayError(f"Could not {'enable' if enabled else 'disable'} '{name}': {exc.sentence()}") from None
        await self.apply(loaded.config)

    async def restart_child(self, name: str) -> None:
        """Restart now, also out of a backoff wait."""
        await self.fleet.restart(name)

    # --- signing in to remote servers (children/sign_ins.py) ----------------------------------------
    async def sign_in(self, name: str, open_url: OpenUrl, timeout: float = SIGN_IN_TIMEOUT_S) -> SignedIn:
        """Sign in to the remote server `name`, keep its tokens, reconnect it. Raises GatewayError."""
        return await self.sign_ins.sign_in(name, open_url, timeout)

    async def sign_out(self, name: str) -> None:
        """Forget the kept sign-in of `name`; it waits for a new one. Raises GatewayError."""
        await self.sign_ins.sign_out(name)

    async def credentials_changed(self, name: str) -> None:
        """The kept sign-in of `name` changed elsewhere (`switchboard login`): reconnect it."""
        await self.sign_ins.changed(name)

    async def write_config(self, change: RawChange) -> None:
        """Save a change to the config file (the store's locked write, off this loop) and follow it at once."""
        try:
            loaded = await anyio.to_thread.run_sync(self.config.update, change)
        except (ConfigError, EditError) as exc:
            raise GatewayError(exc.sentence() if isinstance(exc, ConfigError) else str(exc)) from None
        await self.apply(loaded.config)

    def _config_changed(self, event: ConfigChanged) -> None:
        """On the gateway's loop: the store says the file changed (or broke). Apply it in a task."""
        if self._tg is None:
            return
        if event.error is not None:
            self.bus.publish(ConfigApplied(ok=False, message=event.error.sentence()))
            return
        self._tg.start_soon(self._apply_reported, event.loaded.config, event.external)

    async def _apply_reported(self, config: Config, external: bool = True) -> None:
        try:
            changed = await self.apply(config)
        except Exception:  # applying must never take the serving gateway down with it
            log.exception("applying the edited config failed; the running config stays")
            return
        if changed:
            log.info("Config reloaded: %s", ", ".join(changed))
            message = "Config reloaded: " + ", ".join(changed)
            self.bus.publish(ConfigApplied(ok=True, message=message, external=external))

    async def apply(self, new: Config) -> list[str]:
        """Follow `new`: only the children whose entry changed are restarted. Returns what changed."""
        async with self._apply_lock:
            old, self.applied = self.applied, new
            self.policy.applied(old, new)
            if self._tg is None:
                return []
            changes = []
            old_names, new_names = set(self._all_names(old)), set(self._all_names(new))
            for name in sorted(old_names - new_names):
                await self._remove_child(name)
                changes.append(f"removed {name}")
            for name in sorted(new_names):
                if name not in old_names:
                    await self._add_child(name, new)
                    changes.append(f"added {name}")
                elif _entry(old, name) != _entry(new, name):  # policy fields alone never restart a server
                    await self.fleet.stop(name)
                    supervisor = self.supervisors[name]
                    supervisor.reconfigure(new.mcpServers.get(name), new.invalid.get(name))
                    if supervisor.invalid is not None:
                        log.warning("Server %s cannot start: %s", name, supervisor.invalid)
                    if supervisor.enabled:
                        self.fleet.start(supervisor)
                    changes.append(f"updated {name}")
                elif old.mcpServers.get(name) != new.mcpServers.get(name):
                    changes.append(f"call settings of {name}")
            if old.gateway != new.gateway:
                changes.append("gateway settings")
            return changes

    # --- the catalog ------------------------------------------------------------------------------
    def _lists_changed(self, name: str) -> None:
        running = {s.name: s.lists for s in self.supervisors.values()}
        old, self.catalog = self.catalog, Catalog.build(running)
        old_child = self.child_catalogs.get(name)
        if name in running:
            self.child_catalogs[name] = Catalog.build({name: running[name]}, prefixed=False)
        else:
            self.child_catalogs.pop(name, None)
        kinds = changed_kinds(old, self.catalog)
        if old_child is not None and name in self.child_catalogs:
            kinds |= changed_kinds(old_child, self.child_catalogs[name])
        if kinds and self._tg is not None:
            self._tg.start_soon(self.connected.lists_changed, kinds, {name})
        self.bus.publish(CatalogChanged((name,)))

    def _set_state(self, state: str) -> None:
        self.state = state
        self.bus.publish(GatewayStateChanged(state, self.url, self.error))


def _entry(config: Config, name: str) -> tuple[dict[str, Any] | None, str | None]:
    """What running the server depends on: its entry less the fields that only shape calls (POLICY_FIELDS)."""
    child: ChildConfig | None = config.mcpServers.get(name)
    return (None if child is None else child.model_dump(exclude=set(POLICY_FIELDS))), config.invalid.get(name)
