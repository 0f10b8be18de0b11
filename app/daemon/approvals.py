"""Answering the running instance's approvals from another process: `switchboard approvals|approve|deny`.

Through its admin route (`RuntimeInfo.control` + /approvals), with the main key, like `switchboard stop`.
Blocking (urllib, the keyring): call it off any event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from app.daemon import local_http
from app.daemon.control import main_key_for
from app.daemon.instance import RuntimeInfo, running_instance

ROUTE = "/approvals"


class ApprovalsError(Exception):
    """Why the running instance could not be asked or refused; `str()` is a sentence for the user."""


@dataclass(frozen=True)
class Asked:
    info: RuntimeInfo
    body: dict[str, Any]


def _instance(state_dir: Path) -> tuple[RuntimeInfo, str]:
    info = running_instance(state_dir)
    if info is None:
        raise ApprovalsError("Switchboard is not running, so no call waits for approval (start it with `switchboard "
                             "start`).")  # fmt: skip
    if not info.control:
        raise ApprovalsError(f"Switchboard (pid {info.pid}) runs, but its gateway is stopped: no call waits.")
    key = main_key_for(info)
    if key is None:
        raise ApprovalsError("The main API key could not be read, so the running Switchboard cannot be asked.")
    return info, key


def _ask(method: str, url: str, key: str) -> dict[str, Any]:
    try:
        answer = local_http.call(method, url, key=key)
    except local_http.NoAnswer as exc:
        raise ApprovalsError(f"The running Switchboard did not answer at {url}: {exc}.") from None
    if answer.status == 200:
        return answer.body
    raise ApprovalsError(str(answer.body.get("message") or f"It answered {answer.status}."))


def pending(state_dir: Path) -> list[dict[str, Any]]:
    info, key = _instance(state_dir)
    assert info.control is not None
    body = _ask("GET", info.control.rstrip("/") + ROUTE, key)
    items = body.get("approvals")
    return [a for a in items if isinstance(a, dict)] if isinstance(items, list) else []


def answer(state_dir: Path, approval_id: str, verb: str) -> dict[str, Any]:
    """`verb`: "approve" or "deny"."""
    info, key = _instance(state_dir)
    assert info.control is not None
    return _ask("POST", f"{info.control.rstrip('/')}{ROUTE}/{quote(approval_id, safe='')}/{verb}", key)
