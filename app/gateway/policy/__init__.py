"""What happens to a call between the router and its server: tool search, the response cache, rate limits,
concurrency and queues, per-tool timeouts and approvals. One small module per idea; `rules` resolves the
per-tool settings they all share, and `engine.CallPolicy` is the one thing the router calls."""

from app.gateway.policy.approvals import PendingApproval, UnknownApproval
from app.gateway.policy.cache import CacheStats
from app.gateway.policy.engine import CallPolicy, PolicyCall, ServerPolicy, Ticket, ToolPolicy
from app.gateway.policy.refused import Refused

__all__ = [
    "CacheStats",
    "CallPolicy",
    "PendingApproval",
    "PolicyCall",
    "Refused",
    "ServerPolicy",
    "Ticket",
    "ToolPolicy",
    "UnknownApproval",
]
