"""Start the stdio servers before the gateway's imports, so the two start-ups overlap.

`switchboard serve` spends about half a second importing the gateway (the MCP SDK) before it would spawn
its first server, and each server then spends about as long on its own imports. Spawned here, right after
the config is read, a server boots while the gateway imports. The gateway adopts it on its first start
(app/gateway/children/prestarted.py) only when it is exactly the process it would have started: the
same argv, environment and directory, still running. Whatever is not adopted is stopped, at once by the
gateway when it does not match, or by `release` when serve ends. POSIX only: on Windows the SDK starts
servers inside a job object, which a plain spawn would not give.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field

from app.config.models import Config, StdioServer

# The variables a server inherits: the SDK's DEFAULT_INHERITED_ENV_VARS on POSIX (tests/test_prestart.py
# checks that they are the same, and the gateway adopts nothing whose environment differs).
INHERITED = ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")


@dataclass
class Prestarted:
    popen: subprocess.Popen[bytes]
    argv: list[str]
    env: dict[str, str]
    cwd: str | None
    stderr: int  # the read end of the server's stderr pipe, for the gateway's reader to take over
    adopted: bool = field(default=False)

    def discard(self) -> None:
        """Stop it and everything it started (its own process group), and let its pipes go."""
        if self.adopted:
            return
        self.adopted = True  # nobody else may take it now
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        with contextlib.suppress(OSError):
            os.close(self.stderr)


def inherited_environment() -> dict[str, str]:
    return {
        key: value for key in INHERITED if (value := os.environ.get(key)) is not None and not value.startswith("()")
    }


def prestart(config: Config) -> dict[str, Prestarted]:
    """Spawn every enabled stdio server of `config`. One that cannot be spawned is skipped: the gateway's
    own start of it says what is wrong."""
    if sys.platform == "win32":  # pragma: no cover - see the module docstring
        return {}
    started: dict[str, Prestarted] = {}
    for name, server in config.mcpServers.items():
        if not isinstance(server, StdioServer) or not server.enabled:
            continue
        argv, env = [server.command, *server.args], inherited_environment() | server.env
        read_end, write_end = os.pipe()
        try:
            popen = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=write_end, env=env, cwd=server.cwd,
                start_new_session=True, bufsize=0,
            )  # fmt: skip
        except (OSError, ValueError):
            os.close(read_end)
            continue
        finally:
            os.close(write_end)
        started[name] = Prestarted(popen, argv, env, server.cwd, read_end)
    return started


def release(started: dict[str, Prestarted]) -> None:
    """Stop what the gateway did not adopt (serve is ending, or it never started)."""
    for process in started.values():
        process.discard()
