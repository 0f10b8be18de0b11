"""The per-client connection behind a server request context.

The SDK keeps it on the per-request session as `_connection`; it carries the public `state` dict,
`exit_stack`, `client_params`, `session_id`, `protocol_version` and the `send_*_list_changed` methods
the gateway uses to register clients, clean up after them and tell them of changes.
"""

from __future__ import annotations

from typing import Any


def connection_of(ctx: Any) -> Any:
    return ctx.session._connection
