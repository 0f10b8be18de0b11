"""Icons from `resources/` (via app.paths, so they work frozen too): the app icon and one per tray state.

PNGs are rendered from the SVG sources with `python -m app.ui.icons` and shipped beside them:
some tray hosts draw PNGs more reliably than SVGs.
"""

from __future__ import annotations

import sys
from functools import cache

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from app import paths

TRAY_STATES = ("running", "degraded", "stopped")
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)


def _load(stem: str) -> QIcon:
    icon = QIcon()
    for size in PNG_SIZES:
        png = paths.resource(f"{stem}-{size}.png")
        if png.exists():
            icon.addFile(str(png), QSize(size, size))
    svg = paths.resource(f"{stem}.svg")
    if icon.isNull() and svg.exists():
        icon.addFile(str(svg))
    return icon


@cache
def app_icon() -> QIcon:
    return _load("app")


@cache
def tray_icon(state: str) -> QIcon:
    """`state` is "running", "degraded" or "stopped"."""
    return _load(f"tray-{state if state in TRAY_STATES else 'stopped'}")


def render_pngs() -> list[str]:
    written = []
    for stem in ("app", *(f"tray-{s}" for s in TRAY_STATES)):
        renderer = QSvgRenderer(str(paths.resource(f"{stem}.svg")))
        for size in PNG_SIZES:
            image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
            image.fill(Qt.GlobalColor.transparent)
            painter = QPainter(image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            renderer.render(painter)
            painter.end()
            out = paths.resource(f"{stem}-{size}.png")
            image.save(str(out))
            written.append(out.name)
    return written


if __name__ == "__main__":
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication(sys.argv[:1])
    print("\n".join(render_pngs()))
