"""Stopping the running instance: ask it through its admin route, and only if that fails, signal, then kill.

The request is the main way on every OS (Windows has no SIGTERM): the instance then stops as on Ctrl-C,
its children stopped and in-flight calls answered. SIGTERM (POSIX) is the fallback for an instance that
does not answer, and killing its whole process tree the last resort; each wait is bounded, and the
outcome says which of these it took.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from app.daemon import local_http
from app.daemon.admin import shutdown_url
from app.daemon.instance import RuntimeInfo

STOP_TIMEOUT_S = 30.0  # a graceful stop: uvicorn's grace, then each child's (stdin closed, 2 s, killed)
TERM_TIMEOUT_S = 10.0
POLL_S = 0.05


@dataclass(frozen=True)
class Stopped:
    pid: int
    how: str  # "asked" (the admin route), "terminated" (SIGTERM), "killed"
    sentence: str  # what was done, for people
    left: tuple[int, ...] = ()  # processes of its tree still alive afterwards (empty unless killing failed)


def main_key_for(info: RuntimeInfo) -> str | None:
    """The main key of the instance's config folder, or None when it cannot be read (the signal path remains).
    Blocking (keyring): call it off any event loop."""
    from app.secrets import KeyStore, KeyStoreError

    try:
        return KeyStore(Path(info.config).parent).load()
    except KeyStoreError:
        return None


def stop_instance(
    info: RuntimeInfo,
    *,
    key: str | None,
    timeout: float = STOP_TIMEOUT_S,
    term_timeout: float = TERM_TIMEOUT_S,
    say: Callable[[str], None] = lambda _text: None,
) -> Stopped:
    """Stop the instance `info` describes (as running_instance() returned it) and everything it started.

    `say` hears progress while it waits ("asked it to stop..."). Blocking: call it off any event loop."""
    try:
        process = psutil.Process(info.pid)
        tree = [process, *process.children(recursive=True)]
    except psutil.Error:
        return Stopped(info.pid, "asked", f"Switchboard (pid {info.pid}) had already exited.")
    name = f"Switchboard (pid {info.pid})"

    refused = _ask(info, key)
    if refused is None:
        say(f"Asked {name} to stop; waiting for it to stop its servers...")
        if _wait_gone([process], timeout):
            return _finish(info.pid, "asked", f"Stopped {name}: it stopped its servers and exited.", tree)
        why = f"it was asked to stop through its admin route but was still running after {timeout:g} s"
    else:
        why = f"it did not answer its admin route ({refused})"

    if sys.platform != "win32":  # on Windows terminate() is a kill: go straight to the tree below
        say(f"{name}: {why}; sending it SIGTERM...")
        _signal(process.terminate)
        if _wait_gone([process], term_timeout):
            return _finish(info.pid, "terminated", f"{name}: {why}, so it was sent SIGTERM; it exited.", tree)
        why += f", and still ran {term_timeout:g} s after SIGTERM"

    tree = _with_children(tree)
    for member in tree:
        _signal(member.kill)
    _wait_gone(tree, term_timeout)
    extra = len(tree) - 1
    started = {0: "", 1: ", with the process it had started"}.get(extra, f", with the {extra} processes it had started")
    return _finish(info.pid, "killed", f"{name}: {why}, so it was killed{started}.", tree)


def _ask(info: RuntimeInfo, key: str | None) -> str | None:
    """None once the instance accepted the request; else why it could not be asked."""
    if not info.control:
        return "its gateway is stopped, so there is none"
    if key is None:
        return "the main API key could not be read"
    try:
        answer = local_http.call("POST", shutdown_url(info.control), key=key)
    except local_http.NoAnswer as exc:
        return f"{info.control}: {exc}"
    if answer.status == 202:
        return None
    return f"it answered {answer.status}: {answer.body.get('message', 'no reason given')}"


def _finish(pid: int, how: str, sentence: str, tree: list[psutil.Process]) -> Stopped:
    """Whatever the instance started and left behind is killed too: nothing of its tree survives a stop."""
    left = [member for member in tree if not _gone(member)]
    if left:
        for member in left:
            _signal(member.kill)
        _wait_gone(left, TERM_TIMEOUT_S)
        sentence += (" A process it had started still ran and was killed." if len(left) == 1
                     else f" {len(left)} processes it had started still ran and were killed.")
    return Stopped(pid, how, sentence, tuple(member.pid for member in tree if not _gone(member)))


def _with_children(tree: list[psutil.Process]) -> list[psutil.Process]:
    """The tree as collected before, plus anything started since (a child restarted while we waited)."""
    seen = {member.pid: member for member in tree}
    for member in list(tree):
        try:
            for child in member.children(recursive=True):
                seen.setdefault(child.pid, child)
        except psutil.Error:
            pass
    return list(seen.values())


def _gone(process: psutil.Process) -> bool:
    """Exited: no such process, a new process under a reused pid (is_running checks), or a zombie
    nobody has reaped yet (it runs nothing and holds no port)."""
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def _wait_gone(processes: list[psutil.Process], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not all(_gone(p) for p in processes):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


def _signal(action: Callable[[], None]) -> None:
    with contextlib.suppress(psutil.Error):  # gone already, or not ours
        action()
