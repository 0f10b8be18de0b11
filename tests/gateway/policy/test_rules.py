"""The per-tool settings every policy module shares: validated in the config file, resolved most specific first."""

from __future__ import annotations

import pytest

from app.config import ConfigError, parse
from app.gateway.policy.rules import resolve

DESTRUCTIVE = {"name": "drop", "annotations": {"destructiveHint": True}}
READ_ONLY = {"name": "get", "annotations": {"readOnlyHint": True}}
SILENT = {"name": "note"}


def config(server: dict | None = None, **gateway: object):
    return parse({"gateway": gateway, "mcpServers": {"s": {"command": "x", **(server or {})}}})


def test_a_bad_tool_setting_marks_only_that_server_failed_and_names_the_field() -> None:
    loaded = parse({"mcpServers": {"s": {"command": "x", "tools": {"delete_*": {"policy": "maybe"}}},
                                   "ok": {"command": "y"}}})  # fmt: skip
    assert "ok" in loaded.mcpServers and "s" not in loaded.mcpServers
    assert loaded.invalid["s"].startswith("mcpServers.s.tools.delete_*.policy: Input should be 'allow', 'deny'")
    typo = parse({"mcpServers": {"s": {"command": "x", "tools": {"a": {"polcy": "ask"}}}}})
    assert typo.invalid["s"] == "mcpServers.s.tools.a.polcy: unknown field (did you mean `policy`?)"
    bad_rate = parse({"mcpServers": {"s": {"command": "x", "rate_limit": {"per_minute": 0}}}})
    assert "mcpServers.s.rate_limit.per_minute: Input should be greater than 0" in bad_rate.invalid["s"]


def test_a_bad_gateway_default_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError) as error:
        parse({"gateway": {"default_policy": "ask"}})
    assert "gateway.default_policy: Input should be 'ask-destructive', 'allow' or 'strict'" in str(error.value)


def test_defaults_ask_only_before_destructive_tools_and_strict_before_unannotated_ones() -> None:
    plain = config()
    assert resolve(plain, "s", "main", tool="drop", listing=DESTRUCTIVE).policy == "ask"
    assert resolve(plain, "s", "main", tool="note", listing=SILENT).policy == "allow"
    strict = config(default_policy="strict")
    assert resolve(strict, "s", "main", tool="note", listing=SILENT).policy == "ask"
    assert resolve(strict, "s", "main", tool="get", listing=READ_ONLY).policy == "allow"
    assert resolve(config(default_policy="allow"), "s", "main", tool="drop", listing=DESTRUCTIVE).policy == "allow"


def test_the_most_specific_setting_wins_field_by_field() -> None:
    tools = {"*": {"timeout_s": 60, "policy": "ask"}, "get_*": {"policy": "allow"}, "get_secret": {"policy": "deny"}}
    settings = config({"policy": "deny", "timeout_s": 30, "tools": tools})
    rules = resolve(settings, "s", "main", tool="get_secret")
    assert (rules.policy, rules.timeout_s) == ("deny", 60)  # the exact name's policy, "*"'s timeout
    assert resolve(settings, "s", "main", tool="get_one").policy == "allow"
    assert resolve(settings, "s", "main", tool="other").policy == "ask"
    assert resolve(config({"policy": "deny"}), "s", "main", tool="other").policy == "deny"


def test_a_keys_policy_comes_before_the_servers() -> None:
    key = {"name": "bot", "sha256": "0" * 64, "policy": {"s__drop": "allow", "s__*": "deny"}}
    settings = parse({
        "gateway": {"client_keys": [key]},
        "mcpServers": {"s": {"command": "x", "tools": {"drop": {"policy": "ask"}}}},
    })
    assert resolve(settings, "s", "bot", tool="drop", published="s__drop").policy == "allow"
    assert resolve(settings, "s", "bot", tool="note", published="s__note").policy == "deny"
    assert resolve(settings, "s", "main", tool="drop", published="s__drop").policy == "ask"


def test_only_read_only_or_listed_tools_are_cacheable() -> None:
    settings = config({"cache_ttl_s": 30, "tools": {"note": {"cache_ttl_s": 5}}})
    assert resolve(settings, "s", "main", tool="get", listing=READ_ONLY).cache_ttl_s == 30
    assert resolve(settings, "s", "main", tool="drop", listing=DESTRUCTIVE).cache_ttl_s == 0
    assert resolve(settings, "s", "main", tool="note", listing=SILENT).cache_ttl_s == 5
