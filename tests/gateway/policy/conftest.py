"""Helpers for the call-policy tests: the ledger child (it counts the calls it receives) behind a gateway."""

from __future__ import annotations

import json
from typing import Any

from mcp import Client

from tests.conftest import stdio_child


def ledger(*args: str, **settings: Any) -> dict[str, Any]:
    """The ledger child's config entry, with call settings (cache_ttl_s, tools, ...)."""
    return stdio_child("ledger.py", *args, **settings)


async def received(client: Client, server: str = "ledger") -> dict[str, int]:
    """How many calls each of the child's tools has received (asked of the child itself)."""
    answer = await client.call_tool(f"{server}__counts", {})
    return json.loads(answer.content[0].text)


def text(result: Any) -> str:
    return result.content[0].text
