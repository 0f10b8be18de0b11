"""Named per-client API keys in the config file: only a SHA-256 of each is kept; the key is shown once.

Edits go through `raw` (the file as written) so `${VAR}` references elsewhere survive the save.
"""

from __future__ import annotations

import copy
import hashlib
import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.config.models import ClientKey
from app.config.store import ConfigError, load, load_or_create, parse, save
from app.paths import self_command

RESERVED = "main"  # the main key's identity name
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ClientKeyError(Exception):
    """A key that cannot be added or revoked. `str()` is a sentence for the user."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def add(
    config_path: Path, name: str, *, servers: Sequence[str] | None = None, tools: Sequence[str] | None = None
) -> str:
    """Add a key named `name`, limited to `servers`/`tools` (None: no limit). Returns the key: its only showing."""
    if not _NAME.match(name):
        raise ClientKeyError(
            f"{name!r} is not a usable key name: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    if name.lower() == RESERVED:
        raise ClientKeyError(f"{name!r} is reserved for the main key; choose another name.")
    loaded = load_or_create(config_path, self_command())
    if any(k.name == name for k in loaded.config.gateway.client_keys):
        raise ClientKeyError(f"A key named {name!r} already exists; revoke it first or choose another name.")
    key = secrets.token_urlsafe(32)
    entry = ClientKey(
        name=name,
        sha256=digest(key),
        servers=None if servers is None else _unique(servers),
        tools=None if tools is None else _unique(tools),
    )
    raw = copy.deepcopy(loaded.raw)
    gateway = raw.setdefault("gateway", {})
    gateway.setdefault("client_keys", []).append(entry.model_dump(exclude_none=True))
    _save_checked(config_path, raw)
    return key


def list_keys(config_path: Path) -> list[ClientKey]:
    if not config_path.exists():
        return []
    return list(load(config_path).config.gateway.client_keys)


def revoke(config_path: Path, name: str) -> None:
    loaded = load(config_path)
    raw = copy.deepcopy(loaded.raw)
    entries: list[Any] = (raw.get("gateway") or {}).get("client_keys") or []
    kept = [e for e in entries if not (isinstance(e, dict) and e.get("name") == name)]
    if len(kept) == len(entries):
        raise ClientKeyError(f"There is no key named {name!r}.")
    raw["gateway"]["client_keys"] = kept
    _save_checked(config_path, raw)


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _save_checked(config_path: Path, raw: dict[str, Any]) -> None:
    try:
        parse(raw, config_path)  # never write a file the gateway would refuse to load
    except ConfigError as exc:
        raise ClientKeyError(str(exc)) from None
    save(config_path, raw)
