"""How every verb talks to a person: results on stdout, everything else (hints, problems) on stderr, a
problem as one line that starts with the program's name."""

from __future__ import annotations

import sys


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def fail(text: str, code: int = 1) -> int:
    """Say what went wrong; the exit code to return."""
    say(f"switchboard: {text}")
    return code
