"""Writes build/windows/Switchboard.ico from the PNGs in resources/ (the exe's icon in build.spec and the
installer's in switchboard.iss). An .ico may hold PNG images as they are (Windows Vista and later), so
this needs no imaging library: a 6-byte header, one 16-byte entry per image, then the PNG files.

    python installer/windows/make_ico.py [OUT.ico]
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIZES = (16, 24, 32, 48, 64, 128, 256)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def ico(pngs: list[bytes]) -> bytes:
    header = struct.pack("<HHH", 0, 1, len(pngs))  # reserved, type 1 = icon, image count
    entries, offset = b"", 6 + 16 * len(pngs)
    for data in pngs:
        width, height = png_size(data)
        if width > 256 or height > 256:
            raise ValueError(f"an icon image is at most 256x256, not {width}x{height}")
        # width and height 0 mean 256; no palette; 1 plane; 32 bits per pixel
        entries += struct.pack("<BBBBHHII", width % 256, height % 256, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return header + entries + b"".join(pngs)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "build" / "windows" / "Switchboard.ico"
    try:
        pngs = [(ROOT / "resources" / f"app-{size}.png").read_bytes() for size in SIZES]
        data = ico(pngs)
    except (OSError, ValueError) as exc:
        print(f"make_ico: {exc}", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
