"""`switchboard start`: the headless gateway as a detached background process, and the wait until it answers.

The child is this very Switchboard running `serve --background`: a session of its own (POSIX) or a
detached process group (Windows; no fork there), stdin from nowhere, stdout and stderr to a file in
the log folder. Its log lines go to the rotating log as usual; that file gets only what `serve` prints,
so when the child exits early, `start` shows the child's own sentences (port busy, bad config).

Readiness is what a client sees: the child has published its URL in runtime.json (it holds the
instance lock) and its /health answers, with any status: a 503 while servers start still means the
gateway answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.daemon import local_http
from app.daemon.control import main_key_for, stop_instance
from app.daemon.hosting import base_url
from app.daemon.instance import RuntimeInfo, running_instance

OUTPUT_NAME = "background-output.log"
START_TIMEOUT_S = 60.0
POLL_S = 0.05
BACKGROUND_FLAG = "--background"  # serve's hidden flag: no log lines on stderr (they would fill the output file)


@dataclass(frozen=True)
class Started:
    """ours: this call started `info`. Else `info` was already running (or won a race), or the start
    failed: `failure` holds the sentences to print and `exit_code` the child's status."""

    info: RuntimeInfo | None
    ours: bool = False
    failure: tuple[str, ...] = ()
    exit_code: int = 0


def background_argv(
    command: list[str], *, config: Path | None, host: str | None, port: int | None
) -> list[str]:
    argv = [*command, "serve", BACKGROUND_FLAG]
    if config is not None:
        argv += ["--config", str(Path(config).absolute())]  # the child runs elsewhere: no relative paths
    if host is not None:
        argv += ["--host", host]
    if port is not None:
        argv += ["--port", str(port)]
    return argv


def start_background(
    command: list[str],
    *,
    state_dir: Path,
    log_dir: Path,
    config: Path | None = None,
    host: str | None = None,
    port: int | None = None,
    timeout: float = START_TIMEOUT_S,
) -> Started:
    """Start the gateway in the background and wait until it answers. Blocking: for the CLI."""
    running = running_instance(state_dir)
    if running is not None:
        return Started(running)
    log_dir.mkdir(parents=True, exist_ok=True)
    output_path = log_dir / OUTPUT_NAME
    fd = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        child = subprocess.Popen(
            background_argv(command, config=config, host=host, port=port),
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            cwd=_working_dir(),
            close_fds=True,
            **_detached(),
        )
    finally:
        os.close(fd)
    return _wait_until_answering(child, state_dir, output_path, timeout)


def _wait_until_answering(
    child: subprocess.Popen[bytes], state_dir: Path, output_path: Path, timeout: float
) -> Started:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = child.poll()
        if code is not None:
            return _exited(code, state_dir, output_path)
        info = running_instance(state_dir)
        if info is not None and info.pid == child.pid and info.url:
            try:
                local_http.call("GET", f"{base_url(info)}/health", timeout=2)
            except local_http.NoAnswer:
                pass
            else:
                return Started(info, ours=True)
        time.sleep(POLL_S)
    # Half started and unanswering: not left behind for the user to discover later.
    info = running_instance(state_dir)
    stopped = ""
    if info is not None and info.pid == child.pid:
        stopped = " " + stop_instance(info, key=main_key_for(info), timeout=5).sentence
    else:
        child.kill()
    child.wait()
    return Started(
        None,
        failure=(f"switchboard: the background gateway did not answer within {timeout:g} s.{stopped} "
                 f"Its output is in {output_path}.",),
        exit_code=1,
    )


def _exited(code: int, state_dir: Path, output_path: Path) -> Started:
    lines = _read_lines(output_path)
    if code == 0:
        # It found another instance (one started at the same moment won the lock): that one runs.
        running = running_instance(state_dir)
        if running is not None:
            return Started(running)
    # serve's own sentences start with "switchboard:" (a config error goes on over indented lines).
    first = next((i for i, line in enumerate(lines) if line.startswith("switchboard:")), None)
    said = tuple(lines[first:]) if first is not None else ()
    if not said:
        last = f" It last said: {lines[-1]}" if lines else ""
        said = (f"switchboard: the background gateway exited with status {code} before it answered; "
                f"its output is in {output_path}.{last}",)
    return Started(None, failure=said, exit_code=code or 1)


def _read_lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        return []


def _working_dir() -> str:
    """Not the caller's folder (a daemon must not keep a mount busy); from source, the folder that holds
    the `app` package, so `python -m app` finds it even without an installed package."""
    if getattr(sys, "frozen", False):
        return str(Path.home())
    return str(Path(__file__).resolve().parents[2])


def _detached() -> dict[str, Any]:
    if sys.platform == "win32":
        flags = getattr(subprocess, "DETACHED_PROCESS", 0x8) | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200)
        return {"creationflags": flags}
    return {"start_new_session": True}  # setsid: no controlling terminal, no SIGHUP when it closes
