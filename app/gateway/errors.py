"""The gateway's one error type: a problem the user can act on, told as a sentence."""

from __future__ import annotations


class GatewayError(Exception):
    """A problem the user can act on; `str()` is the sentence to show: the problem, then the fix.

    `kind` lets a caller word the fix its own way (the panel says "in Settings", not "--port").
    """

    def __init__(self, problem: str, fix: str = "", *, kind: str = "error", port: int | None = None) -> None:
        super().__init__(f"{problem} {fix}".strip())
        self.problem = problem
        self.fix = fix
        self.kind = kind
        self.port = port
