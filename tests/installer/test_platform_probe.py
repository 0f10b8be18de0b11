"""The Qt platform probe, run for real: a child process creates a QApplication on a real X server
(Xvfb), on the offscreen platform, and on a machine where system libraries are really missing (hidden
from the dynamic loader by an overlay mount in a private mount namespace, so the host is untouched)."""

from __future__ import annotations

import ast
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from app.ui.platform_probe import SONAME_PACKAGES, explain_failure, probe_qt_platform
from tests.installer.hidden_libraries import run_without, skip_unless_xcb_loads, xcb_plugin

DATA = Path(__file__).resolve().parent / "data"


def one_sentence(text: str) -> None:
    assert "\n" not in text and text.endswith("."), text


def test_offscreen_platform_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert probe_qt_platform() is None


def test_xcb_starts_on_a_real_x_server(xvfb: str, monkeypatch: pytest.MonkeyPatch) -> None:
    skip_unless_xcb_loads()
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", xvfb)
    assert probe_qt_platform() is None


def test_missing_libraries_are_all_named_with_their_packages(
    xvfb: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dlopen names only the first library it cannot open; the sentence must name both, and the
    packages that provide them, as on a fresh Debian without libxcb-cursor0 and libxcb-keysyms1."""
    skip_unless_xcb_loads()
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", xvfb)
    probe = "from app.ui.platform_probe import probe_qt_platform; print(repr(probe_qt_platform()))"
    lines = run_without(["libxcb-cursor.so.0", "libxcb-keysyms.so.1"], tmp_path, [sys.executable, "-c", probe])
    assert len(lines) == 1, lines
    sentence = ast.literal_eval(lines[0])  # the repr printed by the child
    assert isinstance(sentence, str)
    one_sentence(sentence)
    for name in ("libxcb-cursor.so.0", "libxcb-keysyms.so.1", "libxcb-cursor0", "libxcb-keysyms1", '"xcb"'):
        assert name in sentence
    assert "sudo apt install libxcb-cursor0 libxcb-keysyms1" in sentence
    # Outside the namespace nothing changed: the same probe passes on the same display.
    assert probe_qt_platform() is None


def test_a_display_nobody_serves_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    skip_unless_xcb_loads()
    number = next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", f":{number}")
    sentence = probe_qt_platform()
    assert sentence is not None
    one_sentence(sentence)
    assert f"could not connect to the display :{number}" in sentence


def test_an_x_server_that_never_answers_is_reported_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """A TCP display whose server accepts the connection and never sends the X setup reply (a hung X
    server, a dead ssh -X forward): the probe gives up at its timeout and says so."""
    skip_unless_xcb_loads()
    with socket.socket() as listener:
        for number in range(50, 100):
            try:
                listener.bind(("127.0.0.1", 6000 + number))
                break
            except OSError:
                continue
        else:
            pytest.skip("no free X11 TCP port (6050-6099) on 127.0.0.1")
        listener.listen()
        monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
        monkeypatch.setenv("DISPLAY", f"127.0.0.1:{number}")
        sentence = probe_qt_platform(timeout=3)
    assert sentence is not None
    one_sentence(sentence)
    assert "did not finish within 3 s" in sentence


def test_qt_output_captured_on_a_machine_without_libxcb_icccm() -> None:
    """What PySide6 6.12's Qt printed (QT_DEBUG_PLUGINS=1) on this Debian 12 before libxcb-icccm4 was
    installed. The plugin path in it does not exist here, so only the dlopen error can be used."""
    output = (DATA / "qxcb-missing-icccm.txt").read_text()
    sentence = explain_failure(output)
    one_sentence(sentence)
    assert "libxcb-icccm.so.4 is missing" in sentence
    assert "sudo apt install libxcb-icccm4)" in sentence
    assert "cursor" not in sentence  # Qt's own hint names libxcb-cursor0 whatever is missing: not trusted


def test_every_library_the_xcb_plugin_loads_has_a_package() -> None:
    """SONAME_PACKAGES covers the real plugin's direct needs (the .deb's Depends come from it too)."""
    if shutil.which("readelf") is None or not xcb_plugin().exists():
        pytest.skip("needs readelf (binutils) and PySide6's xcb plugin")
    out = subprocess.run(["readelf", "-d", str(xcb_plugin())], capture_output=True, text=True, check=True).stdout
    needed = [line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]
    system = [name for name in needed if not name.startswith("libQt6") and name not in ("libc.so.6", "libm.so.6")]
    assert "libxcb-cursor.so.0" in system
    assert [name for name in system if name not in SONAME_PACKAGES] == []
