"""From the file's text to a resolved Config, with errors that name the field and the fix.

A problem in one `mcpServers` entry (a typo, an unset `${VAR}`) is that server's alone: it is listed
in `Config.invalid` with its sentence and every other server runs. A problem anywhere else (the
file is not JSON, `gateway` is wrong) makes the whole file unusable: ConfigError.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from app.config.interpolate import InterpolationError, interpolate
from app.config.models import ChildConfig, Config, ConfigError, GatewaySettings, RemoteServer, StdioServer, TaggedChild

_SERVER: TypeAdapter[ChildConfig] = TypeAdapter(TaggedChild)
_FIELDS = {
    "gateway": set(GatewaySettings.model_fields),
    "server": set(StdioServer.model_fields) | set(RemoteServer.model_fields),
}


def decode(text_or_bytes: str | bytes, path: Path | None = None) -> dict[str, Any]:
    """The file's JSON object, or ConfigError saying where it broke (bad UTF-8 and bad JSON alike)."""
    if isinstance(text_or_bytes, bytes):
        try:
            text = text_or_bytes.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = text_or_bytes.count(b"\n", 0, exc.start) + 1
            column = exc.start - (text_or_bytes.rfind(b"\n", 0, exc.start) + 1) + 1
            where = f"line {line}, column {column}"
            raise ConfigError(path, [f"not UTF-8 text: an invalid byte at {where} (save the file as UTF-8)"]) from None
    else:
        text = text_or_bytes
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(path, [f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError(path, ["the file must hold a JSON object ({...})"])
    return raw


def parse(raw: Mapping[str, Any], path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Validate a raw config dict (interpolating `${VAR}`s). Raises ConfigError for file-wide problems;
    a bad server entry goes to `Config.invalid` instead."""
    if not isinstance(raw, Mapping):
        raise ConfigError(path, ["the file must hold a JSON object ({...})"])
    environ = os.environ if env is None else env
    gateway = _gateway(raw.get("gateway", {}), environ, path)
    servers_raw = raw.get("mcpServers", {})
    if servers_raw is None:
        servers_raw = {}
    if not isinstance(servers_raw, Mapping):
        raise ConfigError(path, ["mcpServers: must be an object of named servers"])
    servers: dict[str, ChildConfig] = {}
    invalid: dict[str, str] = {}
    for name, entry in servers_raw.items():
        try:
            servers[name] = _server(str(name), entry, environ)
        except ValueError as exc:
            invalid[str(name)] = str(exc)
    return Config(gateway=gateway, mcpServers=servers, invalid=invalid)


def _gateway(value: Any, env: Mapping[str, str], path: Path | None) -> GatewaySettings:
    if not isinstance(value, Mapping):
        raise ConfigError(path, ["gateway: must be an object"])
    try:
        resolved = interpolate(dict(value), env, "gateway")
    except InterpolationError as exc:
        raise ConfigError(path, [str(exc)]) from None
    try:
        return GatewaySettings.model_validate(resolved)
    except ValidationError as exc:
        raise ConfigError(path, [_problem(("gateway", *e["loc"]), e, "gateway") for e in exc.errors()]) from None


def _server(name: str, entry: Any, env: Mapping[str, str]) -> ChildConfig:
    where = f"mcpServers.{name}"
    if not name or len(name) > 64:
        raise ValueError(f"{where}: a server name must be 1 to 64 characters")
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: must be an object with `command` (a local server) or `url` (a remote server)")
    try:
        resolved = interpolate(dict(entry), env, where)
    except InterpolationError as exc:
        raise ValueError(str(exc)) from None
    if "command" not in resolved and "url" not in resolved:
        for key in resolved:
            guess = difflib.get_close_matches(str(key), ["command", "url"], n=1)
            if guess:
                raise ValueError(f"{where}.{key}: unknown field (did you mean `{guess[0]}`?)")
    try:
        return _SERVER.validate_python(resolved)
    except ValidationError as exc:
        errors = exc.errors()
        # Drop the discriminator tag pydantic puts first ("stdio"/"remote") so the path is the file's own.
        problems = [_problem(("mcpServers", name, *_untagged(e["loc"])), e, "server") for e in errors]
        raise ValueError("; ".join(problems)) from None


def _untagged(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    return loc[1:] if loc and loc[0] in ("stdio", "remote") else loc


def _problem(loc: tuple[int | str, ...], error: Mapping[str, Any], section: str) -> str:
    field = ".".join(str(p) for p in loc)
    text = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        text = "field required"
    elif error["type"] == "extra_forbidden":
        guess = difflib.get_close_matches(str(loc[-1]), sorted(_FIELDS[section]), n=1)
        text = f"unknown field (did you mean `{guess[0]}`?)" if guess else "unknown field (remove it)"
    return f"{field}: {text}"
