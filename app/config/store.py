"""Reading and writing the config file: atomic saves, first-run default, errors that name the field."""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.config.interpolate import InterpolationError, interpolate
from app.config.models import Config

DEMO_SERVER_NAME = "demo"


class ConfigError(Exception):
    """A config that cannot be used. `str()` is a message for the user: one line per problem, no traceback."""

    def __init__(self, path: Path | None, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        where = f"{path}: " if path else ""
        super().__init__(where + "invalid config\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class LoadedConfig:
    """`raw` is the file as written (with `${VAR}` references, saved back as is); `config` is resolved."""

    path: Path
    raw: dict[str, Any]
    config: Config


def _field_path(loc: tuple[int | str, ...]) -> str:
    # Drop the discriminator tags pydantic inserts ("stdio"/"remote") so the path is the file's own.
    parts = [str(p) for i, p in enumerate(loc) if not (i == 2 and loc[0] == "mcpServers" and p in ("stdio", "remote"))]
    return ".".join(parts)


def _message(error: Mapping[str, Any]) -> str:
    text = str(error["msg"])
    text = text.removeprefix("Value error, ")
    if error["type"] == "missing":
        text = "field required"
    elif error["type"] == "extra_forbidden":
        text = "unknown field"
    return text


def parse(raw: dict[str, Any], path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Validate a raw config dict (interpolating `${VAR}`s), or raise ConfigError naming each bad field."""
    if not isinstance(raw, dict):
        raise ConfigError(path, ["the file must hold a JSON object"])
    try:
        resolved = interpolate(raw, os.environ if env is None else env)
    except InterpolationError as exc:
        raise ConfigError(path, [str(exc)]) from None
    try:
        return Config.model_validate(resolved)
    except ValidationError as exc:
        problems = [f"{_field_path(e['loc'])}: {_message(e)}" for e in exc.errors()]
        raise ConfigError(path, problems) from None


def load(path: Path, env: Mapping[str, str] | None = None) -> LoadedConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, ["file not found"]) from None
    except OSError as exc:
        raise ConfigError(path, [f"cannot read: {exc.strerror}"]) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(path, [f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"]) from None
    return LoadedConfig(path, raw, parse(raw, path, env))


def save(path: Path, raw: Mapping[str, Any]) -> None:
    """Write atomically (temp file + rename in the same folder), so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(raw, f, indent=2)
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


def load_or_create(path: Path, demo_command: list[str], env: Mapping[str, str] | None = None) -> LoadedConfig:
    if not path.exists():
        save(path, default_raw(demo_command))
    return load(path, env)


def with_enabled(raw: Mapping[str, Any], name: str, enabled: bool) -> dict[str, Any]:
    """A copy of `raw` with one child's `enabled` flag set; other keys, `${VAR}`s included, untouched."""
    updated = copy.deepcopy(dict(raw))
    servers = updated.get("mcpServers") or {}
    if name not in servers:
        raise KeyError(name)
    servers[name]["enabled"] = enabled
    return updated
