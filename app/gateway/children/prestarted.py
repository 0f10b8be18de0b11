"""Adopting a stdio server that was spawned before the gateway's imports (app/prestart.py).

The adopted process is put behind the interface of the process `anyio.open_process` returns, as much of
it as stdio_transport and its stop use: byte streams on stdin and stdout (asyncio pipes, so the relay's
hot path costs what it costs with a process spawned here), `pid`, `returncode`, `wait`, `terminate`,
`kill`. It is adopted only when it is exactly what the gateway would have spawned for the entry in force.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Protocol

import anyio
from mcp.client.stdio import get_default_environment

if TYPE_CHECKING:
    from app.gateway.children.stdio import StdioParams


class Prestarted(Protocol):
    """What app/prestart.py hands over, per server."""

    popen: Any  # subprocess.Popen[bytes]
    argv: list[str]
    env: dict[str, str]
    cwd: str | None
    stderr: int
    adopted: bool

    def discard(self) -> None: ...


def matches(process: Prestarted, params: StdioParams) -> bool:
    """It is the process the gateway would spawn for `params` (and it is still running)."""
    cwd = None if params.cwd is None else str(params.cwd)
    return (
        not process.adopted
        and process.popen.poll() is None
        and process.argv == [params.command, *params.args]
        and process.env == get_default_environment() | dict(params.env)
        and process.cwd == cwd
    )


class _PipeWriter:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def send(self, data: bytes) -> None:
        if self._writer.is_closing():
            raise anyio.ClosedResourceError
        self._writer.write(data)
        await self._writer.drain()

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


class _PipeReader:
    def __init__(self, reader: asyncio.StreamReader, transport: asyncio.BaseTransport) -> None:
        self._reader = reader
        self._transport = transport

    async def receive(self, max_bytes: int = 65536) -> bytes:
        data = await self._reader.read(max_bytes)
        if not data:
            raise anyio.EndOfStream
        return data

    async def aclose(self) -> None:
        self._transport.close()


class AdoptedProcess:
    def __init__(self, popen: Any, stdin: _PipeWriter, stdout: _PipeReader) -> None:
        self._popen = popen
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = None
        self.pid: int = popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()  # type: ignore[no-any-return]

    async def wait(self) -> int:
        while (code := self._popen.poll()) is None:
            await anyio.sleep(0.01)
        return code  # type: ignore[no-any-return]

    def terminate(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self._popen.terminate()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self._popen.kill()

    def send_signal(self, signal: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            self._popen.send_signal(signal)


async def adopt(process: Prestarted) -> AdoptedProcess:
    """Take the process over: its pipes become this loop's. The caller has checked `matches`."""
    process.adopted = True
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), process.popen.stdout)
    # A StreamReaderProtocol is also the flow control a StreamWriter needs for drain().
    write_transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader()), process.popen.stdin
    )
    writer = asyncio.StreamWriter(write_transport, protocol, None, loop)
    return AdoptedProcess(process.popen, _PipeWriter(writer), _PipeReader(reader, read_transport))
