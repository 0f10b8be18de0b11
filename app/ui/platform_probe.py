"""Can Qt start its platform plugin on this machine? Asked in a child process, before the tray starts.

Qt does not report a platform plugin that fails to load: it prints a hint and aborts the process
(qFatal), so there is nothing to catch in-process. On a fresh Debian the xcb plugin fails that way
when a system library is missing (libxcb-cursor0 since Qt 6.5). So a child creates a QApplication with
the environment's platform; if it dies, its QT_DEBUG_PLUGINS output names the library the loader could
not open, and `ldd` on the plugin named there lists every other missing one, so the user can install
them all in one go. Sonames map to Debian/Ubuntu package names (SONAME_PACKAGES, also the source of the
.deb's Depends: installer/linux/build_deb.py).

No PySide6 import at module level: app.cli imports this module without loading Qt.
The child is `python -m app.ui.platform_probe` from source and `Switchboard --probe-qt` when frozen
(PyInstaller's runtime hook installer/probe_hook.py answers that flag before the CLI is loaded).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

PROBE_FLAG = "--probe-qt"
_OK = "switchboard-qt-probe: ok"

# Every system library the bundled Qt (Core, Gui, Widgets, Network, Svg, DBus, XcbQpa, the xcb/wayland
# platform plugins, the input-context and SVG plugins) loads, with the Debian/Ubuntu package that ships
# it. Ubuntu 24.04's t64 packages (libglib2.0-0t64, ...) provide the classic names, so these work there.
# tests/installer/test_deb.py fails when the bundle needs a soname missing from this table.
SONAME_PACKAGES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",  # Qt 5 and early Qt 6 xcb plugins
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libgssapi_krb5.so.2": "libgssapi-krb5-2",
    "libbrotlicommon.so.1": "libbrotli1",
    "libbrotlidec.so.1": "libbrotli1",
    "libzstd.so.1": "libzstd1",
    "libz.so.1": "zlib1g",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
}

_CANNOT_OPEN = re.compile(r"([\w.+-]+\.so(?:\.\d+)*): cannot open shared object file")
_PLUGIN_PATH = re.compile(r"Cannot load library (\S+?\.so): ")
_PLUGIN_NAME = re.compile(r'Could not load the Qt platform plugin "([\w-]+)"')
_NO_DISPLAY = re.compile(r"could not connect to display ?(\S*)")
_NOT_FOUND = re.compile(r"^\s*(\S+) => not found", re.MULTILINE)


def probe_command() -> list[str]:
    """The argv of the child that tries Qt: the frozen exe answers a hidden flag, a source run the module."""
    if getattr(sys, "frozen", False):
        return [sys.executable, PROBE_FLAG]
    return [sys.executable, "-m", "app.ui.platform_probe"]


def probe_qt_platform(timeout: float = 15) -> str | None:
    """None when a QApplication starts with this environment's Qt platform; else one sentence that says
    why not, naming the system packages to install when libraries are missing."""
    env = dict(os.environ, QT_DEBUG_PLUGINS="1")  # makes Qt print the loader's error for each plugin
    try:
        child = subprocess.run(
            probe_command(),
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return f"The Qt platform check did not finish within {timeout:g} s (is the display server responding?)."
    except OSError as exc:
        return f"The Qt platform check could not run ({exc})."
    if child.returncode == 0 and _OK in child.stdout:
        return None
    return explain_failure(child.stderr, os.environ.get("QT_QPA_PLATFORM", ""), os.environ.get("DISPLAY", ""))


def explain_failure(qt_output: str, platform: str = "", display: str = "") -> str:
    """One sentence from what a Qt process printed (with QT_DEBUG_PLUGINS=1) before it died."""
    named = _PLUGIN_NAME.search(qt_output)
    plugin = named.group(1) if named else (platform.split(":")[0] or "default")
    missing = list(dict.fromkeys(_CANNOT_OPEN.findall(qt_output)))
    for path in dict.fromkeys(_PLUGIN_PATH.findall(qt_output)):
        missing += [name for name in unresolved_libraries(path) if name not in missing]
    if missing:
        return _missing_sentence(plugin, missing)
    no_display = _NO_DISPLAY.search(qt_output)
    if no_display:
        where = no_display.group(1) or display or "(DISPLAY is not set)"
        return f'Qt\'s "{plugin}" platform plugin could not connect to the display {where}.'
    last = _last_message(qt_output)
    if not last:
        return f'Qt could not start its "{plugin}" platform plugin.'
    return f'Qt could not start its "{plugin}" platform plugin: {last.rstrip(".")}.'


def unresolved_libraries(library: str) -> list[str]:
    """Sonames `ldd` cannot resolve for `library` (all of them, where dlopen names only the first)."""
    ldd = shutil.which("ldd")
    if not ldd or not os.path.exists(library):
        return []
    try:
        out = subprocess.run([ldd, library], capture_output=True, text=True, errors="replace", timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return list(dict.fromkeys(_NOT_FOUND.findall(out)))


def _missing_sentence(plugin: str, sonames: list[str]) -> str:
    packages = list(dict.fromkeys(SONAME_PACKAGES[name] for name in sonames if name in SONAME_PACKAGES))
    unknown = [name for name in sonames if name not in SONAME_PACKAGES]
    qt_own = [name for name in unknown if name.startswith(("libQt6", "libpyside6", "libshiboken6"))]
    if qt_own:  # a library of the bundle itself: nothing the system can provide
        return (
            f'Qt\'s "{plugin}" platform plugin cannot load its own {", ".join(qt_own)}: '
            "the installation is incomplete, reinstall Switchboard."
        )
    libraries = _join(sonames)
    verb = "is" if len(sonames) == 1 else "are"
    fix = f"install {'it' if len(sonames) == 1 else 'them'}"
    if packages:
        fix += f" (Debian/Ubuntu: sudo apt install {' '.join(packages)})"
    return f'Qt\'s "{plugin}" platform plugin cannot load because {libraries} {verb} missing; {fix}.'


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _last_message(qt_output: str) -> str:
    """The last line Qt meant for a person: not the plugin loader's debug chatter, not the plugin list."""
    for line in reversed(qt_output.splitlines()):
        line = line.strip()
        if line and not line.startswith(("qt.core.", "Available platform plugins", "{", "}", '"')):
            return line
    return ""


def run_probe() -> int:
    """The child's side: start Qt's platform and say so. Qt aborts the process if it cannot."""
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    print(f"{_OK} ({app.platformName()})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_probe())
