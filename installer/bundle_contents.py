"""What the frozen bundle keeps (build.spec applies it to PyInstaller's lists): only what the app uses.

PyInstaller's Qt hooks collect every plugin of every kind the imported Qt modules can load (EGL device
integrations, evdev input, TLS backends, GL integrations, the GTK theme with its whole GTK stack,
translations...). The app imports QtCore, QtGui, QtWidgets, QtNetwork (QLocalServer) and QtSvg, draws
PNG/SVG icons and does no OpenGL, so the rest goes. On Linux the system's libraries (libxcb-*, glib,
libssl...) are not bundled at all: the .deb depends on their packages (installer/linux/build_deb.py
derives the Depends from what the bundle's binaries need), so they match the system they run on.
"""

from __future__ import annotations

import os
import re

# Qt libraries the app needs: its five modules, DBus (the tray's StatusNotifierItem, IBus, the portal
# theme), and the xcb and Wayland platform plugins' support libraries.
QT_LIBRARIES = frozenset({"Core", "Gui", "Widgets", "Network", "Svg", "DBus", "XcbQpa", "WaylandClient"})

# Plugin kind -> plugin names kept (None: every plugin of that kind). Kinds not listed are dropped.
QT_PLUGINS: dict[str, frozenset[str] | None] = {
    "platforms": frozenset({"qxcb", "qwayland", "qoffscreen", "qcocoa", "qwindows"}),
    "platforminputcontexts": frozenset({"composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"}),
    "platformthemes": frozenset({"qxdgdesktopportal"}),  # dark mode and portals over DBus; not GTK's stack
    "imageformats": frozenset({"qsvg", "qico"}),  # PNG is built into QtGui
    "iconengines": frozenset({"qsvgicon"}),
    "styles": None,  # the native widget style on macOS and Windows
    "wayland-shell-integration": frozenset({"xdg-shell"}),
    "wayland-decoration-client": None,  # window decorations where the compositor draws none (GNOME)
}

# Python packages no code path of the app imports; some are reachable only from CLIs or test helpers.
PYTHON_EXCLUDES = [
    "tkinter",
    "_tkinter",
    "unittest",  # only uvloop's test base reaches it
    "uvloop._testbase",
    "pytest",
    "_pytest",  # anyio's pytest plugin
    "pytestqt",
    "pluggy",
    "mypy",
    "mypyc",
    "ruff",
    "hypothesis",
    "setuptools",
    "pkg_resources",
    "pip",
    "wheel",
    "IPython",
    "pygments",  # httpx's command line only
    "yaml",  # uvicorn's YAML log config only
    "watchfiles",  # uvicorn's --reload only (it falls back to its stat reloader)
    "mcp.cli",  # the SDK's own CLI: not ours
    "typer",
]

_QT_LIBRARY = re.compile(r"(?:^|/)(?:lib)?Qt6?(\w+?)(?:\.so[.\d]*|\.dll|\.dylib|\.framework/.*)$")
_QT_PLUGIN = re.compile(r"(?:^|/)plugins/([^/]+)/(?:lib)?([^/]+?)(?:\.so|\.dylib|\.dll)$")
_QT_TRANSLATION = re.compile(r"^PySide6/(?:Qt/)?translations/")
# Software OpenGL and Direct3D's shader compiler: for Qt Quick and OpenGL, which the app does not use.
_WINDOWS_GL_RUNTIMES = frozenset({"opengl32sw.dll", "d3dcompiler_47.dll"})
_SYSTEM_LIB_DIR = re.compile(r"^/(?:usr/)?lib(?:64)?(?:/[^/]+-linux-gnu\w*)?$")


def keep_binary(dest: str, src: str, platform: str) -> bool:
    """Whether the binary PyInstaller would put at `dest` (copied from `src`) stays in the bundle."""
    dest = dest.replace("\\", "/")
    if dest.startswith("PySide6/"):
        if dest.rsplit("/", 1)[-1].lower() in _WINDOWS_GL_RUNTIMES:
            return False
        plugin = _QT_PLUGIN.search(dest)
        if plugin:
            kind, name = plugin.groups()
            names = QT_PLUGINS.get(kind, frozenset())
            return names is None or name in names
        library = _QT_LIBRARY.search(dest)
        if library:
            return library.group(1) in QT_LIBRARIES
    return not (platform.startswith("linux") and is_system_library(src))


Entry = tuple[str, str, str]  # PyInstaller's TOC entry: (destination, source, typecode)


def without_dangling_links(datas: list[Entry], binaries: list[Entry]) -> list[Entry]:
    """`datas` less the SYMLINK entries (PyInstaller links Qt's libraries into the top folder) whose
    target was left out, so the bundle holds no dangling links."""
    present = {dest.replace("\\", "/") for dest, _, kind in [*datas, *binaries] if kind != "SYMLINK"}

    def target(dest: str, src: str) -> str:
        return os.path.normpath(os.path.join(os.path.dirname(dest), src)).replace("\\", "/")

    return [entry for entry in datas if entry[2] != "SYMLINK" or target(entry[0], entry[1]) in present]


def keep_data(dest: str) -> bool:
    """Qt's own translations go: the UI is English, so Qt's dialogs stay English with it."""
    return not _QT_TRANSLATION.match(dest.replace("\\", "/"))


def is_system_library(src: str) -> bool:
    """A shared library of the Linux system (not Python's own libpython, which comes with the build)."""
    name = os.path.basename(src)
    if not name.startswith("lib") or name.startswith("libpython"):
        return False
    return bool(_SYSTEM_LIB_DIR.match(os.path.realpath(os.path.dirname(src))))
