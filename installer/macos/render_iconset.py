"""Renders resources/app.svg into an .iconset folder (every size iconutil wants, 16 to 1024 px), which
installer/macos/build.sh turns into Switchboard.icns with `iconutil -c icns`.

    python installer/macos/render_iconset.py OUT.iconset
"""
# ruff: noqa: TID251 - a build script, not the app: Qt renders the SVG here as app/ui/icons.py does.

from __future__ import annotations

import os
import sys
from pathlib import Path

SVG = Path(__file__).resolve().parents[2] / "resources" / "app.svg"
# iconutil's names: icon_<points>x<points>[@2x].png
SIZES = [(points, scale) for points in (16, 32, 128, 256, 512) for scale in (1, 2)]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].endswith(".iconset"):
        print("usage: render_iconset.py OUT.iconset", file=sys.stderr)
        return 2
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"render_iconset: {SVG} is not a valid SVG", file=sys.stderr)
        return 1
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for points, scale in SIZES:
        pixels = points * scale
        image = QImage(pixels, pixels, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        name = f"icon_{points}x{points}{'@2x' if scale == 2 else ''}.png"
        if not image.save(str(out / name)):
            print(f"render_iconset: could not write {out / name}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
