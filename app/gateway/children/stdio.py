"""A stdio child's transport: newline-delimited JSON-RPC on its stdin/stdout, bounded and fail-safe.

The gateway's own rather than the SDK's `stdio_client`, because a gateway must survive a child that
misbehaves on its stdout:
- a line is bounded (`gateway.max_message_bytes`): past it the connection is reset with a reason
  naming the limit, and the memory is released, instead of buffering gigabytes;
- bytes that are not UTF-8 are replaced (U+FFFD) and reported once per connection, instead of a
  decode error that silently wedged the reader while every call waited forever;
- a line that is not JSON-RPC is skipped with one log line, rate-limited per child;
- any reader failure ends the connection at once, so in-flight calls are answered with an error
  naming the server (the supervisor restarts it and its state says why).
Spawning and stopping the process tree use the SDK's public `mcp.os` helpers, as its own client does:
a new session on POSIX, a job object on Windows; stdin closed, a grace period, then the whole tree killed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TextIO

import anyio
import anyio.abc
import mcp_types as types
from mcp.client.stdio import get_default_environment
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from mcp_types.jsonrpc import CONNECTION_CLOSED

from app.gateway.children.fast_lane import FastLane
from app.gateway.children.prestarted import Prestarted, adopt
from app.gateway.logging_limits import RateLimitedLog
from app.gateway.sdk.processes import close_process_transport

log = logging.getLogger(__name__)
GRACE = 2.0  # for the child to exit on its own once its stdin closes
KILL_WAIT = 2.0
CHUNK = 64 * 1024


@dataclass
class ConnectionEnd:
    """Why a child's connection ended, when the gateway ended it (the supervisor and in-flight calls say so)."""

    reason: str | None = None


@dataclass
class StdioParams:
    command: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None


class LineTooLong(Exception):
    pass


class _LineReader:
    """Splits a byte stream into lines, holding at most `limit` bytes of an unfinished line."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                break
            piece = chunk[start:end]
            if self._parts:
                self._check(len(piece))
                self._parts.append(piece)
                piece = b"".join(self._parts)  # the one copy of a line that spanned chunks
                self._parts, self._size = [], 0
            elif len(piece) > self.limit:
                raise LineTooLong
            lines.append(piece)
            start = end + 1
        if start < len(chunk):
            rest = chunk[start:] if start else chunk
            self._check(len(rest))
            self._parts.append(rest)
        return lines

    def _check(self, more: int) -> None:
        self._size += more
        if self._size > self.limit:
            self._parts, self._size = [], 0  # let the memory go before anything else happens
            raise LineTooLong


@asynccontextmanager
async def stdio_transport(
    params: StdioParams,
    *,
    server: str,
    errlog: TextIO | None,
    max_line: int,
    end: ConnectionEnd,
    lane: FastLane | None = None,
    prestarted: Prestarted | None = None,
) -> AsyncIterator[tuple[Any, Any]]:
    """Spawn the child (or adopt `prestarted`, spawned before the gateway's imports) and yield (read stream,
    write stream) of SessionMessages, like the SDK's transports. `lane`: the relay's fast lane to this
    child, attached for the connection's life."""
    if prestarted is not None:
        process: Any = await adopt(prestarted)
    else:
        assert errlog is not None, "a spawn needs the stderr pipe"
        process = await _spawn(params, errlog)
    assert process.stdin is not None
    stdin = process.stdin
    write_lock = anyio.Lock()  # one line at a time on stdin, from the SDK's writer and the fast lane alike

    async def send_line(data: bytes) -> None:
        try:
            async with write_lock:
                await stdin.send(data)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError) as exc:
            raise MCPError(CONNECTION_CLOSED, end.reason or "the server process exited") from exc

    if lane is not None:
        lane.attach(send_line)
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    junk = RateLimitedLog(log, f"server {server}")

    async def reader() -> None:
        assert process.stdout is not None
        lines = _LineReader(max_line)
        replaced = False
        try:
            async with read_writer:
                while True:
                    try:
                        chunk = await process.stdout.receive(CHUNK)
                    except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
                        return
                    for line in lines.feed(chunk):
                        ours, bad_bytes = lane.take(line) if lane is not None and lane.waiting else (False, False)
                        if not ours:  # else: an answer to a relayed call, which never needed the SDK
                            message, bad_bytes = _parse(line)
                        if bad_bytes and not replaced:
                            replaced = True
                            log.warning("server %s printed bytes that are not UTF-8; they were replaced", server)
                        if ours:
                            continue
                        if message is None:
                            junk.warning("printed a line that is not JSON-RPC: %.120r", line)
                            continue
                        if lane is not None and _is_log(message):
                            lane.log_read()
                        try:
                            await read_writer.send(message)
                        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                            return
        except LineTooLong:
            end.reason = (
                f"it printed a message larger than {_size(max_line)} (gateway.max_message_bytes), "
                "so its connection was reset"
            )
            log.warning("server %s: %s", server, end.reason)
        except Exception as exc:  # any other failure: end the connection now, never leave calls waiting
            end.reason = f"reading its output failed ({type(exc).__name__}: {exc})"
            log.warning("server %s: %s", server, end.reason)
            log.debug("reading the output of server %s failed", server, exc_info=True)
        finally:
            if lane is not None:
                lane.end(end.reason or "the server process exited")

    async def writer() -> None:
        assert process.stdin is not None
        try:
            async with write_reader:
                async for message in write_reader:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n"
                    await send_line(data)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError, MCPError):
            await read_writer.aclose()  # the child stopped reading: the session must see the end, not wait

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        tg.start_soon(writer)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(shield=True):
                await _stop(process)
                for stream in (read_stream, write_stream, read_writer, write_reader):
                    await stream.aclose()
            tg.cancel_scope.cancel()


def _parse(line: bytes) -> tuple[SessionMessage | None, bool]:
    """(the message or None, whether bytes had to be replaced). Bytes go to pydantic as they are: no
    decode copy for the common case."""
    if line.endswith(b"\r"):
        line = line[:-1]
    if not line.strip():
        return None, False
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False)), False
    except ValueError:
        pass
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("utf-8", errors="replace")
        try:
            return SessionMessage(types.jsonrpc_message_adapter.validate_json(text, by_name=False)), True
        except ValueError:
            return None, True
    return None, False


def _is_log(message: SessionMessage) -> bool:
    return getattr(message.message, "method", None) == "notifications/message"


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


async def _spawn(params: StdioParams, errlog: TextIO) -> Any:
    env = get_default_environment() | params.env
    if sys.platform == "win32":  # pragma: no cover - the SDK's job-object spawn
        from mcp.os.win32.utilities import create_windows_process, get_windows_executable_command

        command = await anyio.to_thread.run_sync(get_windows_executable_command, params.command)
        return await create_windows_process(command, params.args, env, errlog, params.cwd)
    return await anyio.open_process(
        [params.command, *params.args], env=env, stderr=errlog, cwd=params.cwd, start_new_session=True
    )


async def _stop(process: Any) -> None:
    """Close stdin, give the child GRACE seconds, then kill its whole tree."""
    with suppress(Exception):
        await process.stdin.aclose()
    if not await _exited(process, GRACE):
        if sys.platform == "win32":  # pragma: no cover
            from mcp.os.win32.utilities import terminate_windows_process_tree

            await terminate_windows_process_tree(process)
        else:
            from mcp.os.posix.utilities import terminate_posix_process_tree

            await terminate_posix_process_tree(process, KILL_WAIT)
        if not await _exited(process, KILL_WAIT):
            log.warning("process %s is still alive after being killed; leaving it", process.pid)
    if sys.platform == "win32":  # pragma: no cover
        from mcp.os.win32.utilities import close_process_job

        close_process_job(process)
    with suppress(Exception):
        await process.stdout.aclose()
    close_process_transport(process)


async def _exited(process: Any, timeout: float) -> bool:
    # returncode, not wait(): on 3.11 wait() also waits for pipe EOF, which a grandchild may hold open.
    with anyio.move_on_after(timeout):
        while process.returncode is None:
            await anyio.sleep(0.01)
    return process.returncode is not None
