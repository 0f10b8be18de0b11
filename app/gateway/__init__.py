"""The gateway core: no Qt, no files of its own, loop-agnostic asyncio. This module is its public API:
the UI, the CLI and the composition root import from here, never from the subpackages."""

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
