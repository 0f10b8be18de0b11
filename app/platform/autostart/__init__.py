"""Launch at login, one module per OS behind one interface (`Autostart`); `for_this_os()` picks the module.

auto = for_this_os()
auto.enable(paths.self_command(), headless=False)   # the tray at login; headless=True runs `... serve`
auto.status()                                        # AutostartState(enabled, where, detail), read afresh
auto.disable()                                       # removes whatever enable() wrote, of either kind
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from pathlib import Path

from app.platform.autostart.base import Autostart, AutostartError, AutostartState

__all__ = ["Autostart", "AutostartError", "AutostartState", "for_this_os"]


def for_this_os(home: Path | None = None, env: Mapping[str, str] | None = None, system: str | None = None) -> Autostart:
    """`system` is a platform.system() name: "Linux", "Darwin", "Windows"; other Unixes get the XDG module."""
    system = system or platform.system()
    home = home if home is not None else Path.home()
    if system == "Darwin":
        from app.platform.autostart.macos import MacAutostart

        return MacAutostart(home)
    if system == "Windows":
        from app.platform.autostart.windows import WindowsAutostart

        return WindowsAutostart()
    from app.platform.autostart.linux import LinuxAutostart

    return LinuxAutostart(home, os.environ if env is None else env)
