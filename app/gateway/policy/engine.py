"""The call policy: what happens to a call between the router and its server, in this order.

1. the caller's key rate limit;
2. tools only: allow, deny or ask (a paused call waits for an approval, bounded);
3. the response cache (a hit is answered without the server);
4. the server's and its tools' rate limits;
5. a concurrency slot (at most N in flight per server, a bounded queue behind them).

`before(call)` runs these and returns a Ticket (the rules, a cached answer or the slot it holds) or raises
Refused; `after(ticket, result)` gives the slot back and keeps a cacheable answer. The router calls both
around the one place it forwards a call. Settings come from the config in force at each call, so an edit
applies from the next call on, without restarting any server.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp_types.jsonrpc import INTERNAL_ERROR

from app.config.models import Config
from app.gateway.children.model import ChildState, ChildUnavailable
from app.gateway.children.supervisor import ChildSupervisor
from app.gateway.events import CacheCounted, CatalogChanged, ChildStateChanged, EventBus
from app.gateway.policy import edits
from app.gateway.policy.approvals import Approvals, PendingApproval
from app.gateway.policy.cache import PUBLIC_SCOPE, CacheKey, CacheStats, ResponseCache
from app.gateway.policy.concurrency import Gate, Gates
from app.gateway.policy.rate_limit import RateLimits
from app.gateway.policy.refused import NOT_APPROVED, Refused
from app.gateway.policy.rules import CallRules, annotations_of, key_entry, resolve
from app.gateway.policy.search_mode import SearchMode
from app.gateway.security.masking import mask_and_shorten

Progress = Callable[[float, float | None, str | None], Awaitable[None]]
WriteConfig = Callable[[edits.RawChange], Awaitable[None]]
MiB = 1024 * 1024


@dataclass(slots=True)
class PolicyCall:
    """One call as the policy sees it."""

    call_id: int
    method: str  # tools/call, prompts/get, resources/read
    server: str
    target: str  # the published name, or the URI
    original: str  # the server's own name (or URI)
    arguments: Any
    key_name: str
    client_name: str
    progress: Progress | None = None  # set when the client asked for progress: keep-alives while it waits
    request: Any = None  # the Streamable HTTP request that carries it (None in-process): is its client still there?


@dataclass(slots=True)
class Ticket:
    rules: CallRules
    cached: dict[str, Any] | None = None  # the answer, when the cache had it
    decided_by: str | None = None  # tools: "policy" or "user"
    cache_key: CacheKey | None = None
    gates: list[Gate] = field(default_factory=list)

    @property
    def timeout(self) -> float:
        return self.rules.timeout_s


@dataclass(frozen=True)
class ToolPolicy:
    """One tool of a server as the Servers tab's policy editor shows it (for the main key)."""

    tool: str  # the server's own name
    policy: str  # in force now: allow | deny | ask
    source: str  # why ("mcpServers.x.tools.delete_*.policy", "the default policy: ...")
    configured: str | None  # what the tool's own exact entry in the `tools` map says, if anything
    hints: str  # "read-only", "destructive" or ""


@dataclass(frozen=True)
class ServerPolicy:
    """What the Servers tab shows of one server's limits now."""

    in_flight: int
    waiting: int
    max_concurrency: int
    queue_size: int
    timeout_s: float
    cache_ttl_s: float | None
    rate_limit: str | None
    cache: CacheStats
    tools: Mapping[str, Mapping[str, Any]]  # the `tools` map as configured (glob -> set fields)


class CallPolicy:
    def __init__(
        self,
        config: Callable[[], Config],
        supervisors: Mapping[str, ChildSupervisor],
        bus: EventBus,
        write_config: WriteConfig,
    ) -> None:
        self.config = config
        self.supervisors = supervisors
        self.bus = bus
        self.write_config = write_config
        self.approvals = Approvals(bus)
        self.cache = ResponseCache(lambda: int(config().gateway.cache_max_mb * MiB), self._counted)
        self.limits = RateLimits()
        self.gates = Gates()
        self.search = SearchMode(config)
        self._listings: dict[str, tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]] = {}
        bus.subscribe(self._on_event)

    # --- the call path --------------------------------------------------------------------------------
    async def before(self, call: PolicyCall) -> Ticket:
        """Admit `call` (it may wait: an approval, a queue) or raise Refused. Always pair with `after`."""
        config = self.config()
        child = self.supervisors.get(call.server)
        if child is None or child.state != ChildState.RUNNING:  # never ask or queue for a server that is down
            message = child.unavailable_message() if child else f"Server '{call.server}' is not configured"
            raise ChildUnavailable(INTERNAL_ERROR, message)
        is_tool = call.method == "tools/call"
        listing = self._listing(call.server, call.original) if is_tool else None
        rules = resolve(
            config, call.server, call.key_name, tool=call.original if is_tool else None,
            published=call.target if is_tool else None, listing=listing,
        )  # fmt: skip
        ticket = Ticket(rules)
        self.limits.take(rules.key_buckets)
        if is_tool:
            ticket.decided_by = await self._decide(call, rules, config)
        key, public = self._cache_keys(call, rules, config)
        if key is not None:
            cached = self.cache.get(key, public=public)
            if cached is not None:
                ticket.cached = cached
                return ticket
            ticket.cache_key = key
        self.limits.take(rules.child_buckets)
        ticket.gates = await self.gates.enter(rules.slots)
        return ticket

    def after(self, ticket: Ticket | None, result: dict[str, Any] | None, ok: bool) -> None:
        """The call ended: free its slot; keep its answer when it is cacheable and `ok`."""
        if ticket is None:
            return
        Gates.leave(ticket.gates)
        ticket.gates = []
        if ticket.cache_key is None or not ok or result is None or result.get("isError"):
            return
        ttl = ticket.rules.cache_ttl_s
        key = ticket.cache_key
        if key[1].startswith("resources/read:"):  # a 2026-era child's own freshness hints win
            hinted = result.get("ttlMs")
            if isinstance(hinted, int | float) and not isinstance(hinted, bool):
                ttl = max(0.0, hinted / 1000)
            if result.get("cacheScope") == "public":
                key = (key[0], key[1], key[2], PUBLIC_SCOPE)
        self.cache.put(key, result, ttl)

    async def _decide(self, call: PolicyCall, rules: CallRules, config: Config) -> str:
        if rules.policy == "allow":
            return "policy"
        where = f"{call.target} on server '{call.server}'"
        if rules.policy == "deny":
            message = f"Refused by policy: {where} may not be called ({rules.policy_from} is deny)"
            raise Refused(NOT_APPROVED, message, {"policy": "deny"}, decided_by="policy")
        timeout = config.gateway.approval_timeout_s

        def make(approval_id: str) -> PendingApproval:
            return PendingApproval(
                approval_id, call.call_id, call.client_name, call.key_name, call.server, call.target, call.original,
                mask_and_shorten(call.arguments), time.time(), timeout, rules.policy_from,
            )  # fmt: skip

        started = time.monotonic()

        async def keepalive(approval: PendingApproval) -> None:
            if call.progress is not None:
                message = f"Waiting for approval in Switchboard (switchboard approve {approval.id})"
                await call.progress(round(time.monotonic() - started, 1), None, message)

        outcome = await self.approvals.wait(make, keepalive=keepalive if call.progress else None,
                                            gone=_gone_check(call.request))  # fmt: skip
        if outcome.approved:
            return "user"
        if outcome.decided_by is None:
            raise Refused(NOT_APPROVED, f"Withdrawn: the client of {where} went away while it waited for approval",
                          status="cancelled")  # fmt: skip
        if outcome.decided_by == "timeout":
            message = (f"Refused: {where} waited {timeout:g} s for approval in Switchboard and was not approved "
                       "(gateway.approval_timeout_s)")  # fmt: skip
            raise Refused(NOT_APPROVED, message, {"policy": "ask", "approved": False}, decided_by="timeout")
        raise Refused(NOT_APPROVED, f"Refused: {where} was denied in Switchboard", {"policy": "ask"}, decided_by="user")

    def _cache_keys(
        self, call: PolicyCall, rules: CallRules, config: Config
    ) -> tuple[CacheKey | None, CacheKey | None]:
        if call.method == "tools/call" and rules.cache_ttl_s > 0:
            return self.cache.key(call.server, call.original, call.arguments, call.key_name), None
        child = config.mcpServers.get(call.server)
        if call.method == "resources/read" and child is not None and child.cache_ttl_s:
            what = f"resources/read:{call.original}"
            key = self.cache.key(call.server, what, None, call.key_name)
            return key, self.cache.key(call.server, what, None, PUBLIC_SCOPE)
        return None, None

    def _listing(self, server: str, tool: str) -> dict[str, Any] | None:
        """The tool's entry in its server's list (its annotations say what defaults apply)."""
        child = self.supervisors.get(server)
        if child is None:
            return None
        tools = child.lists.tools
        known = self._listings.get(server)
        if known is None or known[0] is not tools:  # a new list: index it once
            known = (tools, {t["name"]: t for t in tools if isinstance(t.get("name"), str)})
            self._listings[server] = known
        return known[1].get(tool)

    # --- approvals ------------------------------------------------------------------------------------
    async def answer(self, approval_id: str, answer: str) -> PendingApproval:
        """"approve", "deny", or "always" (approve, and allow this tool for this key from now on: written to
        the key's policy, or for the main key to the server's `tools` map). Raises UnknownApproval."""
        approval = self.approvals.get(approval_id)
        if answer == "always":
            if key_entry(self.config(), approval.key_name) is not None:
                change = edits.key_policy(approval.key_name, approval.tool, "allow")
            else:
                change = edits.tool_policy(approval.server, approval.original, "allow")
            await self.write_config(change)
            answer = "approve"
        if answer not in ("approve", "deny"):
            raise ValueError(f"an approval is answered with approve, deny or always, not {answer!r}")
        return self.approvals.answer(approval_id, answer)  # type: ignore[arg-type]

    async def set_tool_policy(self, server: str, tool: str, policy: str | None) -> None:
        """Write `mcpServers.SERVER.tools.TOOL.policy` (None: remove it, so the defaults apply again)."""
        if policy is not None and policy not in ("allow", "deny", "ask"):
            raise ValueError(f"a policy is allow, deny or ask, not {policy!r}")
        await self.write_config(edits.tool_policy(server, tool, policy))  # type: ignore[arg-type]

    async def set_defaults(self, **gateway: Any) -> None:
        """Write gateway settings (default_policy, approval_timeout_s, tool_search) to the config file."""
        await self.write_config(edits.gateway_settings(gateway))

    # --- config and state changes ---------------------------------------------------------------------
    def applied(self, old: Config, new: Config) -> None:
        """The config in force changed: a server whose entry changed loses its cached answers."""
        for server in set(old.mcpServers) | set(new.mcpServers):
            if old.mcpServers.get(server) != new.mcpServers.get(server):
                self.cache.clear(server)
        kept = {k.name for k in new.gateway.client_keys}
        for entry in old.gateway.client_keys:
            if entry.name not in kept:
                self.limits.forget(("key", entry.name))

    def _on_event(self, event: object) -> None:
        if isinstance(event, ChildStateChanged) and event.state != ChildState.RUNNING.value:
            self.cache.clear(event.name)  # stopped, crashed or restarting: what it said may no longer hold
        elif isinstance(event, CatalogChanged):
            for server in event.servers:  # its lists changed (list_changed), or it just started
                self.cache.clear(server)

    def _counted(self, server: str, kind: str) -> None:
        self.bus.publish(CacheCounted(server, kind))

    # --- what the panel shows -------------------------------------------------------------------------
    def tool_policies(self, server: str) -> list[ToolPolicy]:
        config = self.config()
        child = self.supervisors.get(server)
        entry = config.mcpServers.get(server)
        rows = []
        for tool in child.lists.tools if child is not None else []:
            name = tool.get("name")
            if not isinstance(name, str):
                continue
            rules = resolve(config, server, "main", tool=name, listing=tool)
            hints = annotations_of(tool)
            hint = "destructive" if hints.get("destructiveHint") is True else (
                "read-only" if hints.get("readOnlyHint") is True else "")  # fmt: skip
            own = entry.tools.get(name) if entry is not None else None
            rows.append(ToolPolicy(name, rules.policy, rules.policy_from, own.policy if own else None, hint))
        return rows

    def server_view(self, server: str) -> ServerPolicy:
        config = self.config()
        child = config.mcpServers.get(server)
        rules = resolve(config, server, "main")
        slot = rules.slots[-1]
        in_flight, waiting = self.gates.load(server)
        stats = self.cache.stats.get(server) or CacheStats()
        tools = {g: s.model_dump(exclude_defaults=True) for g, s in child.tools.items()} if child else {}
        return ServerPolicy(
            in_flight, waiting, slot.limit, slot.queue, rules.timeout_s, child.cache_ttl_s if child else None,
            child.rate_limit.describe() if child and child.rate_limit else None,
            CacheStats(stats.hits, stats.misses, stats.evictions, stats.entries, stats.bytes), tools,
        )  # fmt: skip


def _gone_check(request: Any) -> Callable[[], Awaitable[bool]] | None:
    """A check that the client's HTTP request is still open, where one can tell: a Streamable HTTP POST that
    waits for its answer. (A legacy SSE client's POST was answered at once; its answer goes on its GET stream.)"""
    is_disconnected = getattr(request, "is_disconnected", None)
    path = str(getattr(getattr(request, "url", None), "path", ""))
    if is_disconnected is None or "/messages" in path:
        return None
    return is_disconnected  # type: ignore[no-any-return]
