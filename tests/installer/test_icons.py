"""The installers' icons, made on Linux as on their own OS: the Windows .ico (read back by ImageMagick,
an independent reader) and the macOS iconset that iconutil turns into the .icns."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from installer.windows.make_ico import ico, png_size

ROOT = Path(__file__).resolve().parents[2]


def test_ico_holds_every_size_as_png(tmp_path: Path) -> None:
    if shutil.which("identify") is None:
        pytest.skip("needs ImageMagick's identify (Debian package imagemagick)")
    out = tmp_path / "Switchboard.ico"
    done = subprocess.run([sys.executable, str(ROOT / "installer/windows/make_ico.py"), str(out)], capture_output=True)
    assert done.returncode == 0, done.stderr
    listing = subprocess.run(["identify", str(out)], capture_output=True, text=True, check=True).stdout
    sizes = [line.split()[2] for line in listing.splitlines()]
    assert sizes == ["16x16", "24x24", "32x32", "48x48", "64x64", "128x128", "256x256"]
    assert all(line.split()[1] == "PNG" for line in listing.splitlines())


def test_ico_refuses_what_is_not_a_png_or_too_large() -> None:
    with pytest.raises(ValueError, match="not a PNG file"):
        ico([b"GIF89a" + bytes(40)])
    big = (ROOT / "resources/app-256.png").read_bytes()
    too_big = big[:16] + (512).to_bytes(4, "big") + (512).to_bytes(4, "big") + big[24:]
    with pytest.raises(ValueError, match="at most 256x256, not 512x512"):
        ico([too_big])


def test_iconset_has_every_size_iconutil_wants(tmp_path: Path) -> None:
    out = tmp_path / "Switchboard.iconset"
    script = ROOT / "installer/macos/render_iconset.py"
    done = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found = {path.name: png_size(path.read_bytes()) for path in out.iterdir()}
    expected = {}
    for points in (16, 32, 128, 256, 512):
        expected[f"icon_{points}x{points}.png"] = (points, points)
        expected[f"icon_{points}x{points}@2x.png"] = (2 * points, 2 * points)
    assert found == expected
