"""The gateway core: no Qt, no files of its own, loop-agnostic asyncio. This module is its public API:
the UI, the CLI and the composition root import from here, never from the subpackages.

Its names are imported when first used (PEP 562): a submodule such as the log filters can be imported
without the whole gateway, and so without the MCP SDK, which `serve` must not wait for before it starts
its servers (app/prestart.py), nor `status` or `stop` at all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.gateway.children.loopback import SignInError
    from app.gateway.children.model import ChildState, SignInChallenge
    from app.gateway.children.sign_in import SIGN_IN_TIMEOUT_S, SignedIn, sign_in, sign_out
    from app.gateway.children.tokens import TokenStore
    from app.gateway.config_source import ConfigSource
    from app.gateway.errors import GatewayError
    from app.gateway.events import (
        ApprovalRequested,
        ApprovalSettled,
        CacheCounted,
        CallFinished,
        CallRecorded,
        CallStarted,
        CatalogChanged,
        ChildStateChanged,
        ClientConnected,
        ClientDisconnected,
        ConfigApplied,
        Event,
        EventBus,
        GatewayStateChanged,
    )
    from app.gateway.http.credentials import PREFIX as CREDENTIALS_ROUTE
    from app.gateway.http.credentials import credentials_url
    from app.gateway.http.serving import open_access
    from app.gateway.observe import (
        CALL_STATUSES,
        CallRecord,
        EventRecord,
        HistoryError,
        HistoryStore,
        SqliteHistory,
    )
    from app.gateway.observe.observatory import Observability
    from app.gateway.observe.since import HELP as SINCE_HELP
    from app.gateway.observe.since import parse_since
    from app.gateway.observe.sqlite_reader import SqliteHistoryReader
    from app.gateway.policy import CacheStats, PendingApproval, Refused, ServerPolicy, ToolPolicy, UnknownApproval
    from app.gateway.policy.rules import POLICIES
    from app.gateway.runtime import Gateway
    from app.gateway.security.guard import GuardMiddleware
    from app.gateway.security.identity import MAIN, KeyIdentity
    from app.gateway.security.masking import mask_and_shorten, result_summary
    from app.gateway.security.verifier import KeyVerifier

_WHERE = {
    "SignInError": ("app.gateway.children.loopback", "SignInError"),
    "ChildState": ("app.gateway.children.model", "ChildState"),
    "SignInChallenge": ("app.gateway.children.model", "SignInChallenge"),
    "SIGN_IN_TIMEOUT_S": ("app.gateway.children.sign_in", "SIGN_IN_TIMEOUT_S"),
    "SignedIn": ("app.gateway.children.sign_in", "SignedIn"),
    "sign_in": ("app.gateway.children.sign_in", "sign_in"),
    "sign_out": ("app.gateway.children.sign_in", "sign_out"),
    "TokenStore": ("app.gateway.children.tokens", "TokenStore"),
    "ConfigSource": ("app.gateway.config_source", "ConfigSource"),
    "GatewayError": ("app.gateway.errors", "GatewayError"),
    "ApprovalRequested": ("app.gateway.events", "ApprovalRequested"),
    "ApprovalSettled": ("app.gateway.events", "ApprovalSettled"),
    "CacheCounted": ("app.gateway.events", "CacheCounted"),
    "CallFinished": ("app.gateway.events", "CallFinished"),
    "CallRecorded": ("app.gateway.events", "CallRecorded"),
    "CallStarted": ("app.gateway.events", "CallStarted"),
    "CatalogChanged": ("app.gateway.events", "CatalogChanged"),
    "ChildStateChanged": ("app.gateway.events", "ChildStateChanged"),
    "ClientConnected": ("app.gateway.events", "ClientConnected"),
    "ClientDisconnected": ("app.gateway.events", "ClientDisconnected"),
    "ConfigApplied": ("app.gateway.events", "ConfigApplied"),
    "Event": ("app.gateway.events", "Event"),
    "EventBus": ("app.gateway.events", "EventBus"),
    "GatewayStateChanged": ("app.gateway.events", "GatewayStateChanged"),
    "CREDENTIALS_ROUTE": ("app.gateway.http.credentials", "PREFIX"),
    "credentials_url": ("app.gateway.http.credentials", "credentials_url"),
    "open_access": ("app.gateway.http.serving", "open_access"),
    "CALL_STATUSES": ("app.gateway.observe", "CALL_STATUSES"),
    "CallRecord": ("app.gateway.observe", "CallRecord"),
    "EventRecord": ("app.gateway.observe", "EventRecord"),
    "HistoryError": ("app.gateway.observe", "HistoryError"),
    "HistoryStore": ("app.gateway.observe", "HistoryStore"),
    "SqliteHistory": ("app.gateway.observe", "SqliteHistory"),
    "Observability": ("app.gateway.observe.observatory", "Observability"),
    "SINCE_HELP": ("app.gateway.observe.since", "HELP"),
    "parse_since": ("app.gateway.observe.since", "parse_since"),
    "SqliteHistoryReader": ("app.gateway.observe.sqlite_reader", "SqliteHistoryReader"),
    "CacheStats": ("app.gateway.policy", "CacheStats"),
    "PendingApproval": ("app.gateway.policy", "PendingApproval"),
    "Refused": ("app.gateway.policy", "Refused"),
    "ServerPolicy": ("app.gateway.policy", "ServerPolicy"),
    "ToolPolicy": ("app.gateway.policy", "ToolPolicy"),
    "UnknownApproval": ("app.gateway.policy", "UnknownApproval"),
    "POLICIES": ("app.gateway.policy.rules", "POLICIES"),
    "Gateway": ("app.gateway.runtime", "Gateway"),
    "GuardMiddleware": ("app.gateway.security.guard", "GuardMiddleware"),
    "MAIN": ("app.gateway.security.identity", "MAIN"),
    "KeyIdentity": ("app.gateway.security.identity", "KeyIdentity"),
    "mask_and_shorten": ("app.gateway.security.masking", "mask_and_shorten"),
    "result_summary": ("app.gateway.security.masking", "result_summary"),
    "KeyVerifier": ("app.gateway.security.verifier", "KeyVerifier"),
}


def __getattr__(name: str) -> Any:
    found = _WHERE.get(name)
    if found is None:
        raise AttributeError(f"module 'app.gateway' has no attribute {name!r}")
    value = getattr(importlib.import_module(found[0]), found[1])
    globals()[name] = value
    return value


__all__ = [
    "CALL_STATUSES",
    "CREDENTIALS_ROUTE",
    "MAIN",
    "POLICIES",
    "SIGN_IN_TIMEOUT_S",
    "SINCE_HELP",
    "ApprovalRequested",
    "ApprovalSettled",
    "CacheCounted",
    "CacheStats",
    "CallFinished",
    "CallRecord",
    "CallRecorded",
    "CallStarted",
    "CatalogChanged",
    "ChildState",
    "ChildStateChanged",
    "ClientConnected",
    "ClientDisconnected",
    "ConfigApplied",
    "ConfigSource",
    "Event",
    "EventBus",
    "EventRecord",
    "Gateway",
    "GatewayError",
    "GatewayStateChanged",
    "GuardMiddleware",
    "HistoryError",
    "HistoryStore",
    "KeyIdentity",
    "KeyVerifier",
    "Observability",
    "PendingApproval",
    "Refused",
    "ServerPolicy",
    "SignInChallenge",
    "SignInError",
    "SignedIn",
    "SqliteHistory",
    "SqliteHistoryReader",
    "TokenStore",
    "ToolPolicy",
    "UnknownApproval",
    "credentials_url",
    "mask_and_shorten",
    "open_access",
    "parse_since",
    "result_summary",
    "sign_in",
    "sign_out",
]
