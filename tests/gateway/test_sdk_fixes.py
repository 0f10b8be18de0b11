"""The SSE fix keeps the behaviour of what it replaces."""

from __future__ import annotations

import re

from app.gateway.sdk.patches import _SplitOnlyIfNeeded


def test_split_only_if_needed_matches_the_regex():
    expr = re.compile(r"\r\n|\r|\n")
    fast = _SplitOnlyIfNeeded(expr)
    for text in ["", "plain", "a\nb", "a\r\nb\rc", '{"x": "a\\nb"}']:
        assert fast.split(text) == expr.split(text)
        assert fast.sub("", text) == expr.sub("", text)
