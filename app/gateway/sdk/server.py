"""The middleware of an SDK `Server`: ours only.

`Server.middleware` is a public list, but replacing its default (an OpenTelemetry span per message,
measurable on every call) relies on what the SDK puts there; the seams test checks it is still a list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def use_only(server: Any, middleware: Sequence[Any]) -> None:
    server.middleware = list(middleware)
