"""What `status` and `health` report: the running instance (from runtime.json, never trusted stale), its
/health, and where its config, log and key are. Plain data, so `--json` prints exactly what people read."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from app.daemon import local_http
from app.daemon.hosting import base_url
from app.daemon.instance import RuntimeInfo, running_instance

HEALTH_TIMEOUT_S = 5.0


def health_of(info: RuntimeInfo, timeout: float = HEALTH_TIMEOUT_S) -> local_http.Answer:
    """GET /health of the instance. Raises NoAnswer (also when its gateway is not serving)."""
    base = base_url(info)
    if base is None:
        raise local_http.NoAnswer("its gateway is stopped")
    return local_http.call("GET", f"{base}/health", timeout=timeout)


def gather(state_dir: Path, *, log_path: Path, config: Path) -> dict[str, Any]:
    """Everything `status` shows. `config` is the config file to describe when nothing runs (the running
    instance names its own). Blocking (keyring, HTTP): for the CLI."""
    info = running_instance(state_dir)
    report: dict[str, Any] = {"running": info is not None}
    if info is not None:
        config = Path(info.config)
        report.update(dataclasses.asdict(info))
        report["uptime_s"] = max(0.0, round(time.time() - info.started_at, 1))
        try:
            answer = health_of(info)
        except local_http.NoAnswer as exc:
            report["health"] = None
            report["health_error"] = str(exc)
        else:
            report["health"] = answer.body
            children = answer.body.get("children", {})
            report["servers"] = [
                {"name": name, "state": child.get("state"), "tools": child.get("tools"),
                 **({"sign_in": child["sign_in"]} if isinstance(child.get("sign_in"), dict) else {})}
                for name, child in sorted(children.items())
                if isinstance(child, dict)
            ]
    report["config"] = str(config)
    report["log"] = str(log_path)
    report["key"] = _key_location(config)
    return report


def _key_location(config: Path) -> str:
    from app.secrets import KeyStore, KeyStoreError

    try:
        return str(KeyStore(config.parent).location())
    except KeyStoreError as exc:
        return f"cannot be read: {exc}"


def server_text(name: str, child: dict[str, Any]) -> str:
    """One server as `status` and `health` print it: 'docs: running, 3 tools', or for one that waits for a
    sign-in, what it asks for and the command that gives it."""
    tools = child.get("tools") or 0
    text = f"{name}: {child.get('state')}, {tools} tool{'s' if tools != 1 else ''}"
    asks = child.get("sign_in")
    if child.get("state") == "needs sign-in" and isinstance(asks, dict):
        scopes = " ".join(asks.get("scopes") or [])
        again = " again (the last one expired)" if asks.get("expired") else ""
        text += (f" — sign in{again} at {asks.get('issuer')}{f' for {scopes}' if scopes else ''}: "
                 f"switchboard login {name}")
    return text


def uptime_text(seconds: float) -> str:
    """'3 d 4 h', '2 h 5 min', '3 min 12 s', '8 s'."""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
