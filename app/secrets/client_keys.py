"""Named per-client API keys in the config file: only a SHA-256 of each is kept; the key is shown once.

Edits go through the config store's locked read-modify-write, on the file as written, so `${VAR}`
references and other processes' edits survive the save.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from app.config import ClientKey, ConfigError, ConfigStore

RESERVED = "main"  # the main key's identity name
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ClientKeyError(Exception):
    """A key that cannot be added or revoked. `str()` is a sentence for the user."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def add(
    store: ConfigStore,
    name: str,
    *,
    servers: Sequence[str] | None = None,
    tools: Sequence[str] | None = None,
    tool_search: bool | None = None,
    rate_limit: Mapping[str, Any] | None = None,
    policy: Mapping[str, str] | None = None,
) -> str:
    """Add a key named `name`, limited to `servers`/`tools` (None: no limit). Returns the key: its only showing.

    `tool_search`: this client sees the gateway's search tools instead of every tool (None: the gateway's
    default); `rate_limit`: {"per_minute": N, "burst": M} across servers; `policy`: GLOB -> allow|deny|ask,
    globs of published names (server__tool)."""
    if not _NAME.match(name):
        raise ClientKeyError(
            f"{name!r} is not a usable key name: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    if name.lower() == RESERVED:
        raise ClientKeyError(f"{name!r} is reserved for the main key; choose another name.")
    key = secrets.token_urlsafe(32)
    try:
        entry = ClientKey.model_validate({
            "name": name, "sha256": digest(key), "servers": None if servers is None else _unique(servers),
            "tools": None if tools is None else _unique(tools), "tool_search": tool_search,
            "rate_limit": None if rate_limit is None else dict(rate_limit), "policy": dict(policy or {}),
        })  # fmt: skip
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise ClientKeyError(f"The key cannot be added: {where}: {problem['msg']}.") from None

    def change(raw: dict[str, Any]) -> None:
        gateway = raw.setdefault("gateway", {})
        entries = gateway.setdefault("client_keys", [])
        if any(isinstance(e, dict) and e.get("name") == name for e in entries):
            raise ClientKeyError(f"A key named {name!r} already exists; revoke it first or choose another name.")
        entries.append(entry.model_dump(exclude_none=True, exclude_defaults=True))

    _update(store, change)
    return key


def list_keys(store: ConfigStore) -> list[ClientKey]:
    if not store.path.exists():
        return []
    return list(store.open().config.gateway.client_keys)


def revoke(store: ConfigStore, name: str) -> None:
    def change(raw: dict[str, Any]) -> None:
        gateway = raw.get("gateway")
        entries: list[Any] = (gateway.get("client_keys") if isinstance(gateway, dict) else None) or []
        kept = [e for e in entries if not (isinstance(e, dict) and e.get("name") == name)]
        if len(kept) == len(entries):
            raise ClientKeyError(f"There is no key named {name!r}.")
        raw["gateway"]["client_keys"] = kept

    _update(store, change)


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _update(store: ConfigStore, change: Callable[[dict[str, Any]], None]) -> None:
    """One locked read-modify-write; a result the gateway would refuse to load is never written."""
    try:
        store.update(change)
    except ConfigError as exc:
        raise ClientKeyError(str(exc)) from None
