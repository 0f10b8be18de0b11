"""The SDK's HTTP client factory for remote children (its timeouts and redirects), from a private module."""

from __future__ import annotations

from mcp.shared._httpx_utils import create_mcp_http_client

__all__ = ["create_mcp_http_client"]
