"""Changes to the config file the policy makes: "always allow" from an approval, the panel's policy editors.

Each is a function over the file's raw dict, run inside the config store's locked read-modify-write, so
`${VAR}` references and other processes' edits survive and a result that would not load is never written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.config.models import DefaultPolicy, Policy

RawChange = Callable[[dict[str, Any]], None]


class EditError(ValueError):
    """The change cannot be made (the server or key is gone from the file); `str()` says so."""


def tool_policy(server: str, glob: str, policy: Policy | None) -> RawChange:
    """Set (or with None remove) `mcpServers.SERVER.tools.GLOB.policy`; other settings of that glob stay."""

    def change(raw: dict[str, Any]) -> None:
        entry = (raw.get("mcpServers") or {}).get(server)
        if not isinstance(entry, dict):
            raise EditError(f"There is no server named '{server}' in the config file.")
        tools = entry.setdefault("tools", {})
        settings = tools.setdefault(glob, {})
        if policy is None:
            settings.pop("policy", None)
            if not settings:
                del tools[glob]
            if not tools:
                del entry["tools"]
        else:
            settings["policy"] = policy

    return change


def key_policy(key: str, glob: str, policy: Policy) -> RawChange:
    """Set `policy.GLOB` of the per-client key named `key`."""

    def change(raw: dict[str, Any]) -> None:
        entries = (raw.get("gateway") or {}).get("client_keys") or []
        entry = next((e for e in entries if isinstance(e, dict) and e.get("name") == key), None)
        if entry is None:
            raise EditError(f"There is no key named '{key}' in the config file.")
        entry.setdefault("policy", {})[glob] = policy

    return change


def default_policy(mode: DefaultPolicy) -> RawChange:
    def change(raw: dict[str, Any]) -> None:
        raw.setdefault("gateway", {})["default_policy"] = mode

    return change


def gateway_settings(values: dict[str, Any]) -> RawChange:
    """Set keys of the `gateway` block (validated by the store when it loads the result)."""

    def change(raw: dict[str, Any]) -> None:
        raw.setdefault("gateway", {}).update(values)

    return change
