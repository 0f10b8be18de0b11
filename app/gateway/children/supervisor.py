"""One supervisor per child MCP server: connect, list, relay, restart with backoff.

Each supervisor is isolated: a child that fails to start or crashes only changes its own
state; it never blocks or takes down the others, nor the gateway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated
from mcp_types.jsonrpc import CONNECTION_CLOSED, INTERNAL_ERROR, REQUEST_TIMEOUT
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from app import __version__
from app.config.models import ChildConfig, GatewaySettings, RemoteServer, StdioServer
from app.gateway.children.failures import describe_failure, exit_reason, first_cause
from app.gateway.children.fast_lane import FastLane
from app.gateway.children.lists import read_lists
from app.gateway.children.model import (
    ChildLists,
    ChildState,
    ChildTimedOut,
    ChildUnavailable,
    SignInChallenge,
    UpstreamRelay,
)
from app.gateway.children.oauth import ChildCredentials
from app.gateway.children.prestarted import Prestarted
from app.gateway.children.stderr import StderrCapture
from app.gateway.children.stdio import ConnectionEnd
from app.gateway.children.transports import transport_attempts, watch_closed
from app.gateway.events import ChildStateChanged, EventBus
from app.gateway.sdk.raw import resolve_input, send_raw

log = logging.getLogger(__name__)

BACKOFF_FIRST = 0.5
BACKOFF_CAP = 30.0
BACKOFF_RESET_AFTER = 60.0  # running this long wipes the failure streak
CONNECT_TIMEOUT = 30.0
CLIENT_INFO = types.Implementation(name="switchboard", version=__version__)
# The requests a 2026-era child may answer with input_required.
INPUT_METHODS = ("tools/call", "prompts/get", "resources/read")


def backoff_delay(failures: int, *, permanent: bool = False) -> float:
    """Seconds before the next start after `failures` failed ones in a row: 0.5, 1, 2, ... up to 30 s.
    A permanent failure (command not found or not executable) waits the longest: it will not fix itself."""
    if permanent:
        return BACKOFF_CAP
    return min(BACKOFF_FIRST * 2 ** (max(failures, 1) - 1), BACKOFF_CAP)


class ChildSupervisor:
    def __init__(
        self,
        name: str,
        config: ChildConfig | None,
        *,
        bus: EventBus,
        log_dir: Path,
        relay: UpstreamRelay,
        on_lists_changed: Callable[[str], None],
        settings: Callable[[], GatewaySettings] = GatewaySettings,
        invalid: str | None = None,
        credentials: ChildCredentials | None = None,
    ) -> None:
        """`config` None with `invalid` set: an entry that cannot be used (the sentence says why); it is
        shown as failed and never started. `credentials`: OAuth for a remote child (None: none kept)."""
        self.name = name
        self.bus = bus
        self.relay = relay
        self.on_lists_changed = on_lists_changed
        self.settings = settings
        self.credentials = credentials or ChildCredentials(None)
        # What the server asks for while the child waits for the user to sign in (state NEEDS_SIGN_IN).
        self.sign_in: SignInChallenge | None = None
        self.stderr = StderrCapture(name, log_dir)
        self.error: str | None = None
        self.next_retry_at: float | None = None
        self.lists = ChildLists()
        self.capabilities: dict[str, Any] = {}
        self.protocol_version: str | None = None
        self.calls = 0
        self.running_since: float | None = None
        self._client: Client | None = None
        self._end = ConnectionEnd()
        self.prestarted: Prestarted | None = None  # spawned before the gateway's imports, for the first start
        self._lane = FastLane()  # raw calls to a handshake-era stdio child (children/fast_lane.py)
        self._fast = False
        self._failures = 0
        self.config: ChildConfig | None = None
        self.invalid: str | None = None
        self.state = ChildState.STOPPED
        self.first_start = anyio.Event()  # set once the first start is over, either way (readiness)
        self.reconfigure(config, invalid)

    def reconfigure(self, config: ChildConfig | None, invalid: str | None = None) -> None:
        """Take a new entry (while not running). A server that will start gets a new first start to wait for."""
        self.config, self.invalid = config, invalid
        self._failures = 0
        self.sign_in = None
        if invalid is not None or config is None:
            self.first_start.set()
            self._set_state(ChildState.FAILED, invalid or "no entry in the config")
        elif not config.enabled:
            self.first_start.set()
            self._set_state(ChildState.DISABLED)
        else:
            if self.first_start.is_set():
                self.first_start = anyio.Event()
            self.error = None
            self._set_state(ChildState.STOPPED)

    @property
    def enabled(self) -> bool:
        return self.config is not None and self.config.enabled and self.invalid is None

    def mark_failed(self, reason: str) -> None:
        self.first_start.set()
        self._set_state(ChildState.FAILED, reason)

    def reset_backoff(self) -> None:
        """Forget the failure streak: the next start is attempted at once (Restart now)."""
        self._failures = 0
        self.next_retry_at = None

    @property
    def kind(self) -> str:
        return self.config.kind if self.config is not None else "invalid"

    @property
    def target(self) -> str:
        """The command line or URL, for display (headers and env values are never shown)."""
        if isinstance(self.config, StdioServer):
            return " ".join([self.config.command, *self.config.args])
        if isinstance(self.config, RemoteServer):
            return self.config.url
        return ""

    # --- supervision ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Keep the child connected until cancelled. Never raises but for cancellation."""
        try:
            while True:
                self.sign_in = None
                self._set_state(ChildState.STARTING)
                reason, ran_for, permanent = await self._run_once()
                self._disconnected()
                if self.sign_in is not None:
                    await self._wait_for_sign_in(self.sign_in)
                if ran_for >= BACKOFF_RESET_AFTER:
                    self._failures = 0
                self._failures += 1
                delay = backoff_delay(self._failures, permanent=permanent)
                self.next_retry_at = time.time() + delay
                self._set_state(ChildState.FAILED if permanent else ChildState.BACKOFF, reason)
                self.first_start.set()
                log.warning("server %s: %s; retrying in %.1f s", self.name, reason, delay)
                await anyio.sleep(delay)  # Restart now cancels this task and starts a new one
                self.next_retry_at = None
        finally:
            self._disconnected()
            self.first_start.set()
            self._set_state(ChildState.STOPPED if self.enabled else ChildState.DISABLED)

    async def _wait_for_sign_in(self, challenge: SignInChallenge) -> None:
        """Only the user can go on: no retries, no backoff. A sign-in (or a config change) restarts this task."""
        self._failures = 0
        self.next_retry_at = None
        self._set_state(ChildState.NEEDS_SIGN_IN, challenge.sentence(self.name))
        self.first_start.set()
        log.warning("Server %s needs a sign-in (%s asks for it): `switchboard login %s`, or Sign in in the panel",
                    self.name, challenge.issuer, self.name)
        await anyio.sleep_forever()

    def _challenged(self, challenge: SignInChallenge) -> None:
        """Called by the child's OAuth as it gives up: the connection ends with this reason."""
        self.sign_in = challenge
        self._end.reason = challenge.sentence(self.name)

    def _disconnected(self) -> None:
        had_lists = self._client is not None
        self._client = None
        self.lists = ChildLists()
        self.running_since = None
        if had_lists:
            self.on_lists_changed(self.name)

    async def _run_once(self) -> tuple[str, float, bool]:
        """Connect and serve until the connection ends: (why it ended, seconds it ran, permanent?)."""
        self._end = ConnectionEnd()
        try:
            async with AsyncExitStack() as stack:
                client, closed = await self._connect(stack)
                self._client = client
                session = client.session
                self.protocol_version = session.protocol_version
                # The fast lane sends params as they are: right for the handshake era, whose requests carry
                # no per-request envelope; a 2026-era child gets the SDK's stamped requests.
                self._fast = self._lane.open and session.protocol_version not in MODERN_PROTOCOL_VERSIONS
                caps = session.server_capabilities
                self.capabilities = caps.model_dump(by_alias=True, exclude_none=True) if caps else {}
                await self.refresh_lists()
                if session.protocol_version in MODERN_PROTOCOL_VERSIONS:
                    # 2026-era servers announce changes only on a subscriptions/listen stream.
                    listener = await stack.enter_async_context(anyio.create_task_group())
                    stack.callback(listener.cancel_scope.cancel)
                    listener.start_soon(self._listen, client)
                self.error = None
                self.running_since = time.time()
                started = time.monotonic()
                self.stderr.mark()
                self._set_state(ChildState.RUNNING)
                log.info("Server %s is running (%d tools)", self.name, len(self.lists.tools))
                self.first_start.set()
                self.on_lists_changed(self.name)
                await closed.wait()
                ran_for = time.monotonic() - started
            await self.stderr.settle()
            return self._exit_reason(), ran_for, False
        except Exception as exc:
            await self.stderr.settle()
            permanent = isinstance(first_cause(exc), FileNotFoundError | PermissionError)
            return self._describe_failure(first_cause(exc)), 0.0, permanent

    def _exit_reason(self) -> str:
        return exit_reason(self.kind, self._end.reason, self.stderr.last_line())

    def _describe_failure(self, exc: BaseException) -> str:
        return describe_failure(exc, self.config, self.kind, self._end.reason, self.stderr.last_line(), CONNECT_TIMEOUT)

    def _set_state(self, state: ChildState, error: str | None = None) -> None:
        self.state = state
        if error is not None:
            self.error = error
        self.bus.publish(ChildStateChanged(self.name, state.value, self.error, self.next_retry_at))

    # --- connecting -------------------------------------------------------------------------------
    async def _connect(self, stack: AsyncExitStack) -> tuple[Client, anyio.Event]:
        """Try each (transport, mode) in turn; the first that completes a handshake wins.

        Legacy `initialize` comes first, then the SDK's auto mode (server/discover). The handshake
        era keeps every feature a gateway must relay to clients of either era: server-to-client
        requests (sampling, elicitation), unsolicited list_changed and log notifications. A child
        that speaks only the modern era is reached by the fallback. A remote child without a
        configured transport is tried over Streamable HTTP, then legacy SSE.
        """
        assert self.config is not None, "an invalid entry is never started"
        auth = None
        if isinstance(self.config, RemoteServer):
            auth = await self.credentials.auth_for(self.name, self.config, self._challenged)
        max_line = self.settings().max_message_bytes
        prestarted, self.prestarted = self.prestarted, None
        attempts = transport_attempts(
            self.config, self.stderr, max_line, self._end, self.name, self._lane, auth=auth, prestarted=prestarted
        )
        for index, (transport, mode) in enumerate(attempts):
            closed = anyio.Event()
            try:
                return await self._open_client(stack, watch_closed(transport(), closed), mode), closed
            except Exception as exc:
                last = index == len(attempts) - 1
                cause = first_cause(exc)
                refused = isinstance(cause, MCPError) and cause.code != CONNECTION_CLOSED
                if last or self.sign_in is not None or not (refused or self.kind == "remote"):
                    raise
                log.info("server %s: attempt %d (%s) failed (%s); trying the next", self.name, index + 1, mode, cause)
                await stack.aclose()
        raise AssertionError("unreachable")

    async def _open_client(self, stack: AsyncExitStack, transport: Any, mode: str) -> Client:
        client = Client(
            transport,
            mode=mode,
            client_info=CLIENT_INFO,
            sampling_callback=self._on_sampling,  # type: ignore[arg-type]
            elicitation_callback=self._on_elicitation,  # type: ignore[arg-type]
            list_roots_callback=self._on_list_roots,  # type: ignore[arg-type]
            logging_callback=self._on_log,
            message_handler=self._on_message,
            cache=None,
            # Bounds the handshake. The relay's own requests carry their options and are not bounded by it:
            # a tool may legitimately run for a long time.
            read_timeout_seconds=CONNECT_TIMEOUT,
        )
        # Entered without a surrounding cancel scope: the client's task groups outlive this call.
        await stack.enter_async_context(client)
        return client

    # --- forwarding (the hot path) ----------------------------------------------------------------
    async def request(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        *,
        on_progress: Callable[[float, float | None, str | None], Awaitable[None]] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one raw request to the child and return its raw result dict.

        Raw on purpose: the child's result goes back to the client as the child wrote it, with no
        re-validation of large payloads. A child that dies mid-call answers at once with an error
        naming it; one that does not answer within `timeout` gets a cancellation, the caller ChildTimedOut.
        """
        client = self._client
        if client is None or self.state != ChildState.RUNNING:
            raise ChildUnavailable(INTERNAL_ERROR, self.unavailable_message())
        self.calls += 1
        try:
            if self._fast and on_progress is None and self._lane.open:
                return await self._lane.request(method, dict(params or {}), timeout)
            result = await send_raw(client, method, params, on_progress, timeout)
            if result.get("resultType") == "input_required" and method in INPUT_METHODS:
                result = await resolve_input(client, method, dict(params or {}), result, on_progress)
            return result
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                why = f": {self._end.reason}" if self._end.reason else ""
                message = f"Server '{self.name}' stopped while handling the request{why}"
                raise ChildUnavailable(INTERNAL_ERROR, message) from None
            if exc.code == REQUEST_TIMEOUT and timeout is not None:
                raise ChildTimedOut(
                    REQUEST_TIMEOUT,
                    f"Server '{self.name}' did not answer within {timeout:g} s, so the call was cancelled "
                    "(the limit is timeout_s in its config entry, or gateway.call_timeout_s)",
                ) from None
            raise

    def unavailable_message(self) -> str:
        if self.state == ChildState.DISABLED:
            return f"Server '{self.name}' is disabled"
        if self.invalid is not None:
            return f"Server '{self.name}' cannot start: {self.invalid}"
        if self.state == ChildState.NEEDS_SIGN_IN and self.sign_in is not None:
            return (f"Server '{self.name}' needs a sign-in: {self.sign_in.sentence(self.name)} "
                    f"Run `switchboard login {self.name}`, or use Sign in in the Servers tab.")
        detail = f": {self.error}" if self.error and self.state in (ChildState.BACKOFF, ChildState.FAILED) else ""
        return f"Server '{self.name}' is not running ({self.state.value}{detail})"

    async def refresh_lists(self) -> None:
        self.lists = await read_lists(self.name, self.capabilities, lambda: self._client, CONNECT_TIMEOUT)

    # --- what the child sends us ------------------------------------------------------------------
    async def _on_sampling(self, ctx: Any, params: types.CreateMessageRequestParams) -> Any:
        return await self.relay.sampling(self.name, params)

    async def _on_elicitation(self, ctx: Any, params: types.ElicitRequestParams) -> Any:
        return await self.relay.elicitation(self.name, params)

    async def _on_list_roots(self, ctx: Any) -> Any:
        return await self.relay.list_roots(self.name)

    async def _on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        try:
            await self.relay.log_message(self.name, params)
        finally:
            self._lane.log_handed_on()  # a fast-lane answer read after this line may go out now

    async def _listen(self, client: Client) -> None:
        try:
            async with client.listen(
                tools_list_changed=True, prompts_list_changed=True, resources_list_changed=True
            ) as subscription:
                async for event in subscription:
                    if isinstance(event, ResourceUpdated):
                        await self.relay.resource_updated(self.name, event.uri)
                    elif self.state == ChildState.RUNNING:
                        await self.refresh_lists()
                        self.on_lists_changed(self.name)
        except Exception as exc:  # a child without listen support still serves; it just cannot announce changes
            log.info("server %s: no change announcements (%s)", self.name, exc)

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            log.warning("server %s sent something unreadable: %s", self.name, message)
            return
        match message:
            case (
                types.ToolListChangedNotification()
                | types.PromptListChangedNotification()
                | types.ResourceListChangedNotification()
            ):
                if self.state == ChildState.RUNNING:
                    await self.refresh_lists()
                    self.on_lists_changed(self.name)
            case types.ResourceUpdatedNotification(params=params):
                await self.relay.resource_updated(self.name, str(params.uri))
            case _:
                pass
