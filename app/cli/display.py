"""Is there a desktop to show a tray on? Probed, not read from the environment alone."""

from __future__ import annotations

import os
import sys


def has_display() -> bool:
    """Whether a desktop session can be reached. Probed, not just read from the environment: Qt aborts
    the process when DISPLAY names an X server that is gone (a stale ssh -X, a closed Xvfb)."""
    if sys.platform in ("darwin", "win32"):
        return True
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return True  # asked for a Qt platform that needs no display server (offscreen, vnc, eglfs, ...)
    wayland = os.environ.get("WAYLAND_DISPLAY")
    if wayland:
        runtime_dir = os.environ.get("XDG_RUNTIME_DIR", "")
        if os.path.exists(wayland if os.path.isabs(wayland) else os.path.join(runtime_dir, wayland)):
            return True
    display = os.environ.get("DISPLAY", "")
    return bool(display) and _x_server_answers(display)


_X_SOCKETS = "/tmp/.X11-unix"


def _x_server_answers(display: str) -> bool:
    import socket

    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    try:
        if host in ("", "unix"):
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(1)
                sock.connect(f"{_X_SOCKETS}/X{number}")
        else:
            with socket.create_connection((host, 6000 + int(number)), timeout=1):
                pass
    except OSError:
        return False
    return True
