"""What every process that hosts a gateway (serve, start's child, the tray) does with the instance lock.

claim() before building anything: a second instance must not create files, bind ports or start
children. publish() once serving (and again when the address changes or the gateway stops), so
`start`, `status` and `stop` find the URL and the admin route in runtime.json.
"""

from __future__ import annotations

import time
from pathlib import Path

from app.daemon.admin import control_url
from app.daemon.instance import InstanceLock, Mode, RuntimeInfo


def claim(state_dir: Path, *, mode: Mode, config: Path) -> InstanceLock | RuntimeInfo:
    """The held lock (this process is the instance), or the running instance's info (this one must not run).

    Raises InstanceLockError (a sentence naming the lock file) when the lock is held by something that
    does not say who it is."""
    lock = InstanceLock(state_dir)
    running = lock.acquire(RuntimeInfo.for_this_process(mode=mode, config=config))
    return lock if running is None else running


def publish(lock: InstanceLock, base_url: str | None, port: int | None) -> RuntimeInfo | None:
    """Say where the gateway serves now (base_url None: it is stopped). No-op without the lock."""
    if not lock.held:
        return None
    if base_url is None:
        return lock.update(url=None, port=None, control=None)
    return lock.update(url=base_url + "/mcp", port=port, control=control_url(base_url))


def what_runs(info: RuntimeInfo) -> str:
    """'the headless gateway (pid 4242, since 2026-12-01 10:02:03) at http://127.0.0.1:8765/mcp'."""
    kind = "the tray app" if info.mode == "tray" else "the headless gateway"
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.started_at))
    where = f"at {info.url}" if info.url else "with its gateway stopped"
    return f"{kind} (pid {info.pid}, since {since}) {where}"


def already_running(info: RuntimeInfo) -> str:
    """What a second instance of any kind says before it exits 0."""
    return (
        f"Switchboard is already running: {what_runs(info)}, with the config {info.config}. "
        "`switchboard status` tells more; `switchboard stop` stops it."
    )


def base_url(info: RuntimeInfo) -> str | None:
    """http://HOST:PORT of the instance's gateway (None while it is not serving)."""
    return info.url.removesuffix("/mcp") if info.url else None
