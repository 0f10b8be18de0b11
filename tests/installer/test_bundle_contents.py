"""What build.spec keeps, on the destination names PyInstaller uses on each OS (only the Linux bundle
can be built here; these are the shapes the macOS and Windows builds feed the same rules)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from installer.bundle_contents import is_system_library, keep_binary, keep_data, without_dangling_links

KEPT = [
    ("linux", "PySide6/Qt/lib/libQt6Core.so.6"),
    ("linux", "PySide6/Qt/lib/libQt6XcbQpa.so.6"),
    ("linux", "PySide6/Qt/lib/libicudata.so.73"),
    ("linux", "PySide6/Qt/plugins/platforms/libqxcb.so"),
    ("linux", "PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so"),
    ("linux", "PySide6/QtWidgets.abi3.so"),
    ("darwin", "PySide6/Qt/lib/QtGui.framework/Versions/A/QtGui"),
    ("darwin", "PySide6/Qt/plugins/platforms/libqcocoa.dylib"),
    ("darwin", "PySide6/Qt/plugins/styles/libqmacstyle.dylib"),
    ("win32", "PySide6/Qt6Widgets.dll"),
    ("win32", "PySide6\\plugins\\platforms\\qwindows.dll"),
    ("win32", "PySide6/plugins/styles/qmodernwindowsstyle.dll"),
    ("win32", "PySide6/QtCore.pyd"),
]
DROPPED = [
    ("linux", "PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6"),
    ("linux", "PySide6/Qt/lib/libQt6OpenGL.so.6"),
    ("linux", "PySide6/Qt/plugins/platformthemes/libqgtk3.so"),
    ("linux", "PySide6/Qt/plugins/xcbglintegrations/libqxcb-glx-integration.so"),
    ("linux", "PySide6/Qt/plugins/tls/libqopensslbackend.so"),
    ("linux", "PySide6/Qt/plugins/imageformats/libqtiff.so"),
    ("darwin", "PySide6/Qt/lib/QtQml.framework/Versions/A/QtQml"),
    ("win32", "PySide6/Qt6Quick.dll"),
    ("win32", "PySide6/opengl32sw.dll"),
    ("win32", "PySide6/plugins/generic/qtuiotouchplugin.dll"),
]


@pytest.mark.parametrize(("platform", "dest"), KEPT)
def test_kept(platform: str, dest: str) -> None:
    assert keep_binary(dest, f"/somewhere/{dest}", platform)


@pytest.mark.parametrize(("platform", "dest"), DROPPED)
def test_dropped(platform: str, dest: str) -> None:
    assert not keep_binary(dest, f"/somewhere/{dest}", platform)


def test_linux_system_libraries_stay_out_but_python_and_its_modules_stay_in() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux paths")
    libz = next(p for p in (Path("/lib/x86_64-linux-gnu/libz.so.1"), Path("/usr/lib64/libz.so.1")) if p.exists())
    assert is_system_library(str(libz))
    assert not keep_binary("libz.so.1", str(libz), "linux")
    assert keep_binary("libz.so.1", str(libz), "darwin")  # the rule is Linux's alone
    assert not is_system_library("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0")
    assert not is_system_library("/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so")
    assert not is_system_library(sys.executable)


def test_translations_and_dangling_links_go() -> None:
    assert not keep_data("PySide6/Qt/translations/qtbase_de.qm")
    assert not keep_data("PySide6\\translations\\qtbase_fr.qm")
    assert keep_data("resources/app.svg")
    binaries = [("PySide6/Qt/lib/libQt6Core.so.6", "/x/libQt6Core.so.6", "BINARY")]
    datas = [
        ("libQt6Core.so.6", "PySide6/Qt/lib/libQt6Core.so.6", "SYMLINK"),
        ("libQt6OpenGL.so.6", "PySide6/Qt/lib/libQt6OpenGL.so.6", "SYMLINK"),
        ("resources/app.svg", "/x/app.svg", "DATA"),
    ]
    assert [d[0] for d in without_dangling_links(datas, binaries)] == ["libQt6Core.so.6", "resources/app.svg"]
