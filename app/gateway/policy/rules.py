"""Which settings apply to one call: the per-tool resolution every policy module shares.

A call's settings come, field by field, from the most specific place that sets them: the caller's
key (its policy globs, of published names), the server's `tools` map (globs of the server's own tool
names: an exact name first, then the glob with the most literal characters), the server's entry,
then the gateway's defaults. It is a pure function of the Config in force, so a hot-reloaded file
applies from the next call on.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from app.config.models import ChildConfig, ClientKey, Config, Policy, RateLimit, ToolSettings

DEFAULT_CONCURRENCY = {"stdio": 8, "remote": 32}  # a stdio child often serves one request at a time
DEFAULT_QUEUE = 128
POLICIES: tuple[Policy, ...] = ("allow", "deny", "ask")


@dataclass(frozen=True, slots=True)
class Slot:
    """One concurrency gate a call must pass: the server's, or that of a glob in its `tools` map."""

    key: tuple[str, str]  # (server, "" for the whole server, else the glob)
    limit: int
    queue: int
    label: str  # for errors: "server 'x'", "tools 'delete_*' of server 'x'"


@dataclass(frozen=True, slots=True)
class Bucket:
    """One token bucket a call takes from: the key's, the server's or a glob's."""

    key: tuple[str, ...]
    limit: RateLimit
    label: str  # for errors: "the rate limit of key 'cursor'"


@dataclass(frozen=True, slots=True)
class CallRules:
    cache_ttl_s: float  # 0: never cached
    timeout_s: float
    slots: tuple[Slot, ...]
    key_buckets: tuple[Bucket, ...]  # the caller's: taken before anything else
    child_buckets: tuple[Bucket, ...]  # the server's and its tools': taken only when the child will be called
    policy: Policy
    policy_from: str  # where the policy came from, for people ("the default for destructive tools", ...)
    pinned: bool = False


def key_entry(config: Config, name: str) -> ClientKey | None:
    """The per-client key named `name` as the config says now (None: the main key, or a key just revoked)."""
    return next((k for k in config.gateway.client_keys if k.name == name), None)


def tool_search_on(config: Config, key_name: str) -> bool:
    entry = key_entry(config, key_name)
    if entry is not None and entry.tool_search is not None:
        return entry.tool_search
    return config.gateway.tool_search


def matching_globs(tool: str, globs: dict[str, Any]) -> list[str]:
    """The globs of `globs` that match `tool`, most specific first (an exact name, then most literal characters)."""
    found = [g for g in globs if g == tool or fnmatchcase(tool, g)]
    return sorted(found, key=lambda g: (g != tool, -sum(c not in "*?[]" for c in g), g))


def annotations_of(tool: dict[str, Any] | None) -> dict[str, Any]:
    value = (tool or {}).get("annotations")
    return value if isinstance(value, dict) else {}


def read_only(tool: dict[str, Any] | None) -> bool:
    return annotations_of(tool).get("readOnlyHint") is True


def default_policy(config: Config, tool: dict[str, Any] | None) -> tuple[Policy, str]:
    mode = config.gateway.default_policy
    hints = annotations_of(tool)
    if mode == "allow":
        return "allow", "the default policy (allow)"
    if hints.get("destructiveHint") is True:
        return "ask", "the default policy: the tool says it is destructive"
    if mode == "strict" and hints.get("readOnlyHint") is not True:
        return "ask", "the strict default policy: the tool does not say it is read-only"
    return "allow", f"the default policy ({mode})"


def resolve(
    config: Config,
    server: str,
    key_name: str,
    *,
    tool: str | None = None,
    published: str | None = None,
    listing: dict[str, Any] | None = None,
) -> CallRules:
    """The rules for one call to `server`. `tool`: the child's own tool name (None for prompts and resources);
    `published`: its name in the merged view (what key policies match); `listing`: its entry in the child's list."""
    child = config.mcpServers.get(server)
    globs = matching_globs(tool, child.tools) if child is not None and tool is not None else []
    entries = [(g, child.tools[g]) for g in globs] if child is not None else []
    key = key_entry(config, key_name)

    def pick(field: str) -> Any:
        for _, settings in entries:
            value = getattr(settings, field)
            if value is not None:
                return value
        return getattr(child, field, None) if child is not None else None

    timeout = pick("timeout_s") or config.gateway.call_timeout_s
    ttl = _cache_ttl(entries, child, listing)
    policy, source = _policy(config, child, server, entries, key, published, listing, tool is not None)
    return CallRules(
        cache_ttl_s=ttl,
        timeout_s=timeout,
        slots=_slots(server, child, entries),
        key_buckets=_key_buckets(key),
        child_buckets=_child_buckets(server, child, entries),
        policy=policy,
        policy_from=source,
        pinned=any(settings.pinned for _, settings in entries),
    )


def _cache_ttl(
    entries: list[tuple[str, ToolSettings]], child: ChildConfig | None, listing: dict[str, Any] | None
) -> float:
    """Only a tool listed with a TTL in the `tools` map, or annotated read-only, is ever cached."""
    for _, settings in entries:
        if settings.cache_ttl_s is not None:
            return settings.cache_ttl_s
    if child is not None and child.cache_ttl_s and read_only(listing):
        return child.cache_ttl_s
    return 0.0


def _policy(
    config: Config,
    child: ChildConfig | None,
    server: str,
    entries: list[tuple[str, ToolSettings]],
    key: ClientKey | None,
    published: str | None,
    listing: dict[str, Any] | None,
    is_tool: bool,
) -> tuple[Policy, str]:
    if not is_tool:  # prompts and resources only read
        return "allow", "not a tool call"
    if key is not None and published is not None:
        for glob in matching_globs(published, key.policy):
            return key.policy[glob], f"the policy of key '{key.name}' ({glob})"
    for glob, settings in entries:
        if settings.policy is not None:
            return settings.policy, f"mcpServers.{server}.tools.{glob}.policy"
    if child is not None and child.policy is not None:
        return child.policy, f"mcpServers.{server}.policy"
    return default_policy(config, listing)


def _slots(server: str, child: ChildConfig | None, entries: list[tuple[str, ToolSettings]]) -> tuple[Slot, ...]:
    kind = child.kind if child is not None else "stdio"
    queue = child.queue_size if child is not None and child.queue_size is not None else DEFAULT_QUEUE
    limit = child.max_concurrency if child is not None and child.max_concurrency else DEFAULT_CONCURRENCY[kind]
    slots = [Slot((server, ""), limit, queue, f"server '{server}'")]
    for glob, settings in entries:
        if settings.max_concurrency is not None:  # the most specific glob that sets one has its own gate
            own_queue = settings.queue_size if settings.queue_size is not None else queue
            slots.insert(0, Slot((server, glob), settings.max_concurrency, own_queue,
                                 f"tools '{glob}' of server '{server}'"))  # fmt: skip
            break
    return tuple(slots)


def _key_buckets(key: ClientKey | None) -> tuple[Bucket, ...]:
    if key is None or key.rate_limit is None:
        return ()
    return (Bucket(("key", key.name), key.rate_limit, f"the rate limit of key '{key.name}'"),)


def _child_buckets(
    server: str, child: ChildConfig | None, entries: list[tuple[str, ToolSettings]]
) -> tuple[Bucket, ...]:
    buckets = []
    if child is not None and child.rate_limit is not None:
        buckets.append(Bucket(("server", server), child.rate_limit, f"the rate limit of server '{server}'"))
    for glob, settings in entries:
        if settings.rate_limit is not None:
            label = f"the rate limit of tools '{glob}' of server '{server}'"
            buckets.append(Bucket(("tools", server, glob), settings.rate_limit, label))
            break
    return tuple(buckets)
