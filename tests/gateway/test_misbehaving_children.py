"""Children that misbehave on their stdout, and one that never answers: nothing hangs, errors name the server."""

from __future__ import annotations

import logging

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from app.gateway import CallFinished
from tests.conftest import running, stdio_child, wait_for

pytestmark = pytest.mark.anyio


def text_of(result) -> str:
    return result.content[0].text


async def test_a_byte_that_is_not_utf8_is_replaced_reported_once_and_the_server_keeps_serving(gateway_factory, caplog):
    caplog.set_level(logging.WARNING)
    gw = await gateway_factory({"odd": stdio_child("misbehave.py")})
    await wait_for(running(gw, "odd"))
    async with Client(gw.url, mode="legacy") as client:
        with anyio.fail_after(30):
            assert text_of(await client.call_tool("odd__bad_utf8", {})) == "caf\ufffd"
            assert text_of(await client.call_tool("odd__bad_utf8", {})) == "caf\ufffd"
            assert text_of(await client.call_tool("odd__ok", {})) == "fine"
    assert gw.supervisors["odd"].state.value == "running"
    replaced = [r for r in caplog.records if "printed bytes that are not UTF-8" in r.getMessage()]
    assert len(replaced) == 1 and "server odd" in replaced[0].getMessage()  # once per connection


async def test_a_line_past_the_limit_resets_that_child_with_an_error_naming_the_limit(gateway_factory):
    gw = await gateway_factory(
        {"big": stdio_child("misbehave.py"), "other": stdio_child("misbehave.py")}, max_message_bytes=1024 * 1024
    )
    await wait_for(running(gw, "big", "other"))
    async with Client(gw.url, mode="legacy") as client:
        with anyio.fail_after(30), pytest.raises(MCPError) as caught:
            await client.call_tool("big__huge", {"mib": 8})
        message = caught.value.error.message
        assert "Server 'big' stopped while handling the request" in message
        assert "larger than 1 MiB (gateway.max_message_bytes)" in message
        assert text_of(await client.call_tool("other__ok", {})) == "fine"  # the others never noticed
        await wait_for(lambda: "larger than 1 MiB" in (gw.supervisors["big"].error or ""))
        await wait_for(running(gw, "big"), timeout=30)  # restarted
        assert text_of(await client.call_tool("big__ok", {})) == "fine"


async def test_junk_lines_are_skipped_and_logged_a_few_times_not_once_each(gateway_factory, caplog):
    caplog.set_level(logging.DEBUG)
    gw = await gateway_factory({"noisy": stdio_child("misbehave.py", "--junk-at-start", "3")})
    await wait_for(running(gw, "noisy"))
    async with Client(gw.url, mode="legacy") as client:
        assert text_of(await client.call_tool("noisy__junk", {"lines": 200})) == "after the junk"
    junk = [r for r in caplog.records if "is not JSON-RPC" in r.getMessage()]
    warnings = [r for r in junk if r.levelno == logging.WARNING]
    assert len(junk) == 203 and len(warnings) <= 5  # every line at debug level, a few at warning
    assert not any(r.exc_info for r in caplog.records if r.name.startswith("app.gateway.children"))


async def test_a_hung_child_times_out_is_cancelled_and_the_client_hears_why(gateway_factory):
    gw = await gateway_factory({"stuck": {**stdio_child("misbehave.py"), "timeout_s": 1}})
    await wait_for(running(gw, "stuck"))
    finished: list[CallFinished] = []
    gw.bus.subscribe(lambda e: finished.append(e) if isinstance(e, CallFinished) else None)
    async with Client(gw.url, mode="legacy") as client:
        with anyio.fail_after(30), pytest.raises(MCPError) as caught:
            await client.call_tool("stuck__hang", {})
        assert caught.value.error.message == (
            "Server 'stuck' did not answer within 1 s, so the call was cancelled "
            "(the limit is timeout_s in its config entry, or gateway.call_timeout_s)"
        )
        assert [f.status for f in finished] == ["timed out"]
        assert text_of(await client.call_tool("stuck__cancelled", {})) == "1"  # the child was told
