"""The one owner of the config file: the only reader of its changes and the only writer.

Every change (`keys add` from a shell, a toggle in the panel, a port change in Settings) is a
read-modify-write under a lock held across processes (a lock file beside the config), re-reading the
file as it is on disk, so no writer overwrites another's edit; the save is atomic. Edits made by hand
are noticed by one watcher. Either way subscribers get one typed `ConfigChanged`; nothing else reads
the file, and nothing reads it per request.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import filelock

from app.config.models import Config, ConfigChanged, ConfigError, LoadedConfig
from app.config.parsing import decode, parse
from app.config.watcher import FileWatcher

log = logging.getLogger(__name__)
DEMO_SERVER_NAME = "demo"
LOCK_TIMEOUT = 10.0


Listener = Callable[[ConfigChanged], None]


def read(path: Path, env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> LoadedConfig:
    """Read and resolve the file once (for one-shot commands); ConfigError when it cannot be used."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, ["file not found"]) from None
    except OSError as exc:
        raise ConfigError(path, [f"cannot read: {exc.strerror}"]) from None
    raw = decode(data, path)
    return LoadedConfig(path, raw, parse(_with_overrides(raw, overrides), path, env))


def save(path: Path, raw: Mapping[str, Any]) -> None:
    """Write atomically (temp file + rename in the same folder), so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(raw, f, indent=2, ensure_ascii=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def default_raw(demo_command: list[str]) -> dict[str, Any]:
    """First-run config: the gateway's defaults and one child, the demo server shipped inside the app."""
    return {
        "gateway": {"host": "127.0.0.1", "port": 8765},
        "mcpServers": {
            DEMO_SERVER_NAME: {"command": demo_command[0], "args": [*demo_command[1:], "demo-server"], "enabled": True}
        },
    }


def _with_overrides(raw: dict[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    if not overrides:
        return raw
    gateway = raw.get("gateway")
    return {**raw, "gateway": {**(gateway if isinstance(gateway, dict) else {}), **overrides}}


class ConfigStore:
    def __init__(
        self,
        path: Path,
        *,
        default: Callable[[], dict[str, Any]] | None = None,
        overrides: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`default`: the first-run file, written when there is none. `overrides`: gateway settings for this
        run only (`--host`, `--port`), applied over the file and never saved."""
        self.path = path
        self._default = default
        self._overrides = dict(overrides or {})
        self._env = env
        self._lock = threading.RLock()  # this process's readers and writers; the file lock covers other processes
        self._file_lock = filelock.FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT)
        self._listeners: list[Listener] = []
        self._current: LoadedConfig | None = None
        self._error: ConfigError | None = None
        self._unwatch: Callable[[], None] | None = None

    # --- reading -----------------------------------------------------------------------------------
    def open(self) -> LoadedConfig:
        """Load the file (writing the first-run default when there is none). ConfigError if it cannot be used."""
        with self._lock:
            if not self.path.exists() and self._default is not None:
                with self._file_lock:
                    if not self.path.exists():
                        save(self.path, self._default())
            self._current = read(self.path, self._env, self._overrides)
            self._error = None
            return self._current

    @property
    def current(self) -> LoadedConfig:
        """The config in force: the last good one read or written."""
        if self._current is None:
            return self.open()
        return self._current

    @property
    def config(self) -> Config:
        return self.current.config

    @property
    def error(self) -> ConfigError | None:
        """What is wrong with the file on disk right now; None when it is fine."""
        return self._error

    def reload(self) -> None:
        """Re-read the file (the watcher calls this); subscribers hear of a real change or a new problem."""
        with self._lock:
            try:
                loaded = read(self.path, self._env, self._overrides)
            except ConfigError as exc:
                if self._error is None or self._error.problems != exc.problems:
                    self._error = exc
                    log.error("%s", exc)
                    self._publish(ConfigChanged(self.current, exc))
                return
            unchanged = self._current is not None and loaded.raw == self._current.raw
            had_error = self._error is not None
            self._current, self._error = loaded, None
            if not unchanged or had_error:
                self._publish(ConfigChanged(loaded, None))

    # --- writing -----------------------------------------------------------------------------------
    def update(self, change: Callable[[dict[str, Any]], None]) -> LoadedConfig:
        """Apply `change` to the file as it is on disk now, under the lock, and save it atomically.

        `change` edits a copy of the raw file (`${VAR}` references and unknown keys kept). Raises
        ConfigError, writing nothing, when the file on disk is broken or the result would not load.
        """
        with self._lock, self._file_lock:
            try:
                on_disk = read(self.path, self._env, self._overrides) if self.path.exists() else None
            except ConfigError as exc:
                raise ConfigError(self.path, [*exc.problems, "fix the file first; nothing was changed"]) from None
            if on_disk is not None:
                raw = copy.deepcopy(on_disk.raw)
            else:  # the first write of a first run starts from the default, as open() would have
                raw = self._default() if self._default is not None else {}
            change(raw)
            config = parse(_with_overrides(raw, self._overrides), self.path, self._env)
            save(self.path, raw)
            self._current, self._error = LoadedConfig(self.path, raw, config), None
            self._publish(ConfigChanged(self._current, None, external=False))
            return self._current

    def set_enabled(self, name: str, enabled: bool) -> LoadedConfig:
        def change(raw: dict[str, Any]) -> None:
            servers = raw.get("mcpServers")
            if not isinstance(servers, dict) or not isinstance(servers.get(name), dict):
                raise ConfigError(self.path, [f"mcpServers.{name}: there is no such server in the file"])
            servers[name]["enabled"] = enabled

        return self.update(change)

    def set_address(self, host: str, port: int) -> LoadedConfig:
        def change(raw: dict[str, Any]) -> None:
            gateway = raw.setdefault("gateway", {})
            gateway.update(host=host, port=port)

        return self.update(change)

    # --- subscribers -------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """`listener(ConfigChanged)` runs on the thread that noticed or made the change: keep it short."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def watch(self, watcher: FileWatcher) -> None:
        """Notice edits made by hand (or by another process) through `watcher`."""
        if self._unwatch is None:
            self._unwatch = watcher.watch(self.path, self.reload)

    def _publish(self, event: ConfigChanged) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken subscriber must never stop the others hearing of the change
                log.exception("a config subscriber failed")
