"""The README's usage section lists every verb the CLI has (it must stay true as verbs are added)."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli import build_parser

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_verb_is_in_the_readme() -> None:
    parser = build_parser()
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    text = README.read_text()
    missing = [verb for verb in verbs if f"switchboard {verb}" not in text]
    assert not missing, f"README.md does not mention: {missing}"
    assert {"start", "stop", "restart", "status", "logs", "health", "autostart", "show-key"} <= set(verbs)
