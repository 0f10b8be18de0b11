"""Where the bridge's gateway is, and the key it uses: found, not configured.

The gateway is the one the runtime file names (the tray's or the daemon's). When none runs, the bridge
starts one in the background with `switchboard start` and waits for it, bounded. The key is read as
`show-key` reads it (keyring or the 0600 file), or a kept per-client key: it is never written into the
client's config file.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from app import paths
from app.daemon.instance import running_instance
from app.secrets import KeyStore, KeyStoreError

START_TIMEOUT = 60.0


class BridgeError(Exception):
    """Why the bridge cannot reach a gateway: one sentence for stderr and for the client's error."""


@dataclass(frozen=True)
class Target:
    url: str  # the merged /mcp, or /servers/NAME/mcp
    key: str


def gateway_url(config: Path | None, *, start: bool = True, timeout: float = START_TIMEOUT) -> str:
    """The running gateway's /mcp URL; starts one (`switchboard start`) when none runs and `start` is set."""
    running = running_instance(paths.state_dir())
    if running is not None and running.url:
        return running.url
    if not start:
        raise BridgeError("Switchboard is not running. Start it with `switchboard start` (or the tray app).")
    command = [*paths.self_command(), "start", *(["--config", str(config)] if config else [])]
    try:
        started = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BridgeError(f"Switchboard did not start within {timeout:.0f} s; see `switchboard logs`.") from None
    except OSError as exc:
        raise BridgeError(f"Could not start Switchboard ({exc.strerror}).") from None
    if started.returncode != 0:
        why = (started.stderr.strip().splitlines() or ["it gave no reason"])[-1].removeprefix("switchboard: ")
        raise BridgeError(f"Switchboard could not be started: {why}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # `start` returns once it answers; the runtime file is already there
        running = running_instance(paths.state_dir())
        if running is not None and running.url:
            return running.url
        time.sleep(0.05)
    raise BridgeError("Switchboard started but did not say where it serves; see `switchboard logs`.")


def endpoint(url: str, server: str | None) -> str:
    """The merged endpoint, or one server's own (`--server NAME`)."""
    if server is None:
        return url
    return url.removesuffix("/mcp") + f"/servers/{server}/mcp"


def key_for(config: Path | None, key_name: str | None) -> str:
    """The main key, or the kept per-client key `key_name` (made with `switchboard keys add NAME --keep`)."""
    store = KeyStore((config or paths.default_config_path()).parent)
    try:
        if key_name is None:
            return store.load_or_create()
        key = store.load_kept(key_name)
    except KeyStoreError as exc:
        raise BridgeError(str(exc)) from None
    if key is None:
        raise BridgeError(
            f"There is no kept key named {key_name!r}. Make one with `switchboard keys add {key_name} --keep`."
        )
    return key
