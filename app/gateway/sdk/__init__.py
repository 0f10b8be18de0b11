"""Every use of a library's private internals, in one place, each pinned by tests/gateway/test_sdk_seams.py.

- raw.py         the relay's raw requests (`session._stamp`, `_dispatcher.send_raw_request`) and the
                 2026 era's input rounds (`mcp.client._input_required`)
- connection.py  the per-client connection behind a request context (`ctx.session._connection`)
- streamable.py  the Streamable HTTP transport subclass (plain JSON unless something streams first)
- server.py      the server middleware list we replace
- http_client.py the SDK's HTTP client factory (`mcp.shared._httpx_utils`)
- processes.py   closing a child's asyncio subprocess transport (anyio's `_process._transport`)
- patches.py     sse-starlette's line splitting, applied when this package is imported
"""

from app.gateway.sdk import patches as _patches  # noqa: F401  (applies the patch on first import)
